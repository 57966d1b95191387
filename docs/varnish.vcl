# Varnish in front of Strongroom: caches the public read path (simple pages, JSON API,
# files) for as long as Strongroom's Surrogate-Control allows, and drops a project's
# pages the moment Strongroom purges its surrogate keys.
#
# Strongroom:  STRONGROOM_PURGE_BACKEND=http
#              STRONGROOM_PURGE_URL=http://<varnish host>:<port>/
#              (STRONGROOM_PURGE_METHOD=PURGE, the default; BAN is taken the same way)
# Varnish:     varnishd -a :6081 -f /etc/varnish/strongroom.vcl
# Replace the backend address below; list the app servers' addresses in "purgers".
# Tested by tests/e2e/test_varnish.py (Debian's varnish 7.1).

vcl 4.1;

import std;

backend strongroom {
    .host = "127.0.0.1";
    .port = "8000";
}

# Who may purge: the Strongroom app servers.
acl purgers {
    "127.0.0.1";
    "::1";
}

sub vcl_recv {
    if (req.method == "PURGE" || req.method == "BAN") {
        if (!client.ip ~ purgers) {
            return (synth(405, "Purging is not allowed from this address"));
        }
        # Keys are project-<normalized name>, file-<sha256>, simple-index: no regex
        # metacharacters can reach the ban expression.
        if (req.http.Surrogate-Key !~ "^[a-z0-9 -]+$") {
            return (synth(400, "A Surrogate-Key header of keys is required"));
        }
        # (No spaces in the expression's regex: ban() splits its argument on them.)
        ban("obj.http.Surrogate-Key ~ (^|[[:space:]])(" +
            regsuball(std.tolower(req.http.Surrogate-Key), " +", "|") +
            ")([[:space:]]|$)");
        return (synth(200, "Purged"));
    }
    if (req.method != "GET" && req.method != "HEAD") {
        return (pass);
    }
    # Only the public read path; the site, uploads and health checks go straight through.
    if (req.url !~ "^/(simple|pypi|packages)/") {
        return (pass);
    }
    # Anything with credentials is a private read (once projects can be private).
    if (req.http.Authorization) {
        return (pass);
    }
    unset req.http.Cookie;
    return (hash);
}

sub vcl_backend_response {
    # Strongroom tells the CDN its lifetime in Surrogate-Control (Cache-Control is for
    # browsers and caches that are not told of changes).
    if (beresp.http.Surrogate-Control ~ "(^|[ ,])max-age=[0-9]+") {
        set beresp.ttl = std.duration(regsub(beresp.http.Surrogate-Control,
            "^(.*[ ,])?max-age=([0-9]+).*$", "\2") + "s", 60s);
    }
    if (beresp.http.Surrogate-Control ~ "stale-while-revalidate=[0-9]+") {
        set beresp.grace = std.duration(regsub(beresp.http.Surrogate-Control,
            "^.*stale-while-revalidate=([0-9]+).*$", "\1") + "s", 10s);
    }
    if (beresp.http.Surrogate-Control ~ "stale-if-error=[0-9]+") {
        set beresp.keep = std.duration(regsub(beresp.http.Surrogate-Control,
            "^.*stale-if-error=([0-9]+).*$", "\1") + "s", 0s);
    }
    # Without Surrogate-Control an answer was not meant for this cache (and carries no
    # surrogate key a purge could reach).
    if (!beresp.http.Surrogate-Control) {
        set beresp.ttl = 0s;
        set beresp.uncacheable = true;
        return (deliver);
    }
    if (beresp.status >= 500) {
        set beresp.ttl = 0s;
        set beresp.uncacheable = true;
    }
}

sub vcl_deliver {
    # The keys and the CDN lifetime are for this cache only.
    unset resp.http.Surrogate-Key;
    unset resp.http.Surrogate-Control;
    if (obj.hits > 0) {
        set resp.http.X-Cache = "HIT";
    } else {
        set resp.http.X-Cache = "MISS";
    }
}
