"""The product's command line, ``triage``: one parser (:mod:`cli.main`), the pathway-file
commands for clinic staff (:mod:`cli.rules`) and the service's (:mod:`cli.service`,
:mod:`cli.runner`)."""
