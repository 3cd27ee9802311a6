"""The attack suite: black-box HTTP tests against a running ``triage run`` that post what a
buggy patient app, a fast phone clock or a corrected reading would, and check the level on
the clinicians' worklist. How it starts and which backends it runs on: conftest.py (the
fixtures) and service.py."""
