"""Storage connections are never shared across a fork (serve forks its workers)."""

from __future__ import annotations


def test_a_forked_child_never_shares_the_parents_storage_connections():
    """serve's start-up repair talks to the store before the workers are forked; a child
    that kept the parent's pooled sockets would read the other process's replies."""
    import os

    from strongroom.storage import get_storage

    parent = get_storage()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child reports whether it got a storage of its own
        os.close(read_end)
        os.write(write_end, b"1" if get_storage() is not parent else b"0")
        os._exit(0)
    os.close(write_end)
    answer = os.read(read_end, 1)
    os.close(read_end)
    os.waitpid(pid, 0)
    assert answer == b"1"
    assert get_storage() is parent
