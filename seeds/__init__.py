"""Synthetic demo data: patients, questionnaires, answers and device readings.

``seeds.demo.generate(now)`` builds it (deterministic: a seeded random generator, times
relative to ``now``); ``seeds.load.load_demo`` posts it through the real HTTP API, the
same path a patient app's data takes. Nothing here describes a real person.
"""
