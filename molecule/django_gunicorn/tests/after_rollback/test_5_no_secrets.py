"""No password reached the output or the log of any run of the cases (restores, sign-ins)."""

from conftest import LOG, OUTPUTS, SECRETS


def test_no_secret_in_any_output_or_the_log():
    assert len(OUTPUTS) >= 8, "the cases ran their playbooks"
    logged = "".join(OUTPUTS) + open(LOG).read()
    for secret in SECRETS:
        assert secret not in logged
