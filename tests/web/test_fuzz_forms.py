"""Hypothesis over every form class of every app's forms.py, called directly.

A form answers is_valid() True or False for any data; it never raises. The route fuzz
(test_fuzz_urls.py) sends the same field names through the views.
"""

from __future__ import annotations

import inspect

import pytest
from django.http import QueryDict
from hypothesis import given, settings
from hypothesis import strategies as st

from strongroom.packages.models import Project
from tests import fuzzing

FORMS = fuzzing.form_classes()


def _make(form_class, data, user):
    parameters = inspect.signature(form_class.__init__).parameters
    kwargs = {}
    args = []
    if "user" in parameters:
        args.append(user)
    if "projects" in parameters:
        args.append(list(Project.objects.all()))
    if "expected" in parameters:
        kwargs["expected"] = "sample"
    return form_class(*args, data=data, **kwargs)


def test_every_apps_forms_are_found():
    names = {form.__name__ for form in FORMS}
    assert {"LoginForm", "TotpCodeForm", "YankForm", "CreateTokenForm", "AuditFilterForm"} <= names


@pytest.mark.django_db
@pytest.mark.parametrize("form_class", FORMS, ids=lambda form: form.__name__)
@settings(fuzzing.FUZZ, max_examples=60)
@given(data=st.data())
def test_no_data_makes_a_form_raise(user, form_class, data):
    names = sorted(form_class.base_fields) or ["x"]
    body = data.draw(fuzzing.form_data(names), label="body")
    query = QueryDict(mutable=True)
    for key, value in body.items():
        query.setlist(key, value if isinstance(value, list) else [value])
    form = _make(form_class, query, user)
    assert form.is_valid() in {True, False}
    if not form.is_valid():
        assert form.errors
