"""The operator's way out for a homeowner who lost both the authenticator and the recovery codes:
`gridshare admin reset-second-factor`, run as an operator runs it, against the server's database."""

from __future__ import annotations

import pyotp
import pytest

from tests.e2e.live import LiveServer


def test_reset_second_factor_turns_it_off(live_server: LiveServer) -> None:
    live = live_server
    owner = live.create_user()
    totp = live.services.totp
    user = live.call(live.services.users.get(owner.sub))
    assert user is not None
    enrolment = live.call(totp.begin(user))
    verdict, codes = live.call(totp.confirm(owner.sub, pyotp.TOTP(enrolment.secret).now()))
    assert verdict.accepted and len(codes) == 10
    assert live.call(totp.enabled(owner.sub))

    out = live.admin("reset-second-factor", "--email", owner.email.upper())
    assert out == {"email": owner.email.upper(), "second_factor": "off"}
    assert not live.call(totp.enabled(owner.sub))
    assert live.call(totp.recovery_codes_left(owner.sub)) == 0


def test_reset_second_factor_of_nobody_fails(live_server: LiveServer) -> None:
    with pytest.raises(AssertionError, match="reset-second-factor failed"):
        live_server.admin("reset-second-factor", "--email", "nobody@example.com")
