"""The vendor's own test: the conformance kit's pytest plugin turns each check into a test.

Run: ``pytest --genesis-driver example-heater tests/``.
"""


def test_heater_conforms(genesis_conformance_case):
    genesis_conformance_case.assert_conforms()
