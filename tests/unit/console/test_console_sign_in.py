"""Signing in, the second factor, lockout, sessions and the security of every answer."""

from __future__ import annotations

from pathlib import Path

from console_rig import PASSWORD, console_rig, csrf

from gateway.console.credentials import totp_code


async def test_unauthenticated_pages_redirect_to_login_and_back(tmp_path: Path) -> None:
    async with console_rig(tmp_path) as rig:
        browser = rig.browser()
        first = await browser.get("/console/inbox")
        assert first.status_code == 303
        assert first.headers["location"].startswith("/console/login?next=/console/inbox")
        page = await browser.get(first.headers["location"])
        assert 'for="username">Username<' in page.text and 'for="password">Password<' in page.text
        assert ">Sign in</button>" in page.text
        done = await browser.sign_in("rita", next_path="/console/inbox")
        assert done.status_code == 303 and done.headers["location"] == "/console/inbox"
        assert (await browser.get("/console/inbox")).status_code == 200


async def test_a_new_session_cookie_on_each_sign_in_and_cookie_flags(tmp_path: Path) -> None:
    async with console_rig(tmp_path) as rig:
        browser = rig.browser()
        first = await browser.sign_in("rita")
        cookie_line = first.headers["set-cookie"]
        assert "HttpOnly" in cookie_line and "SameSite=lax" in cookie_line.replace("Lax", "lax")
        assert "Secure" not in cookie_line  # http public URL
        one = browser.client.cookies.get("console_session")
        await browser.sign_in("rita")
        two = browser.client.cookies.get("console_session")
        assert one and two and one != two
        stale = rig.browser()
        stale.client.cookies.set("console_session", one, domain="gateway.test", path="/console")
        assert (await stale.get("/console/inbox")).status_code == 303


async def test_operator_needs_the_one_time_code(tmp_path: Path) -> None:
    async with console_rig(tmp_path) as rig:
        browser = rig.browser()
        page = await browser.get("/console/login")
        step = await browser.post("/console/login", {
            "csrf_token": csrf(page.text), "username": "olive", "password": PASSWORD,
            "next": "/console/dead-letters",
        })
        assert step.headers["location"] == "/console/login/code"
        # The password alone opens nothing.
        assert (await browser.get("/console/dead-letters")).status_code == 303
        form = await browser.get("/console/login/code")
        assert 'for="code">One-time code<' in form.text and ">Sign in</button>" in form.text
        wrong = await browser.post("/console/login/code", {"csrf_token": csrf(form.text),
                                                           "code": "000000"})
        assert wrong.status_code == 401
        right = await browser.post("/console/login/code", {
            "csrf_token": csrf(form.text), "code": totp_code("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
                                                             rig.clock())})
        assert right.status_code == 303 and right.headers["location"] == "/console/dead-letters"
        assert (await browser.get("/console/dead-letters")).status_code == 200


async def test_failures_never_say_which_part_and_five_lock_the_username(tmp_path: Path) -> None:
    async with console_rig(tmp_path) as rig:
        browser = rig.browser()
        unknown = await browser.sign_in("nobody")
        wrong = await browser.sign_in("rita", "wrong password here")
        assert unknown.status_code == wrong.status_code == 401

        def message(html: str) -> str:
            return html.split('role="alert">', 1)[1].split("<", 1)[0]

        assert message(unknown.text) == message(wrong.text)
        for _ in range(4):
            await browser.sign_in("rita", "wrong password here")
        locked = await browser.sign_in("rita")
        assert locked.status_code == 401 and message(locked.text) == message(wrong.text)
        assert (await rig.browser().sign_in("bea")).status_code == 303  # others unaffected
        rig.clock.advance(16 * 60)
        assert (await browser.sign_in("rita")).status_code == 303


async def test_wrong_codes_count_towards_the_lock(tmp_path: Path) -> None:
    async with console_rig(tmp_path) as rig:
        for _ in range(5):
            assert (await rig.browser().sign_in("olive", code="000000")).status_code == 401
        assert (await rig.browser().sign_in("olive")).status_code == 401


async def test_idle_and_absolute_timeouts(tmp_path: Path) -> None:
    async with console_rig(tmp_path) as rig:
        browser = rig.browser()
        await browser.sign_in("rita")
        rig.clock.advance(899)
        assert (await browser.get("/console/inbox")).status_code == 200
        rig.clock.advance(901)
        assert (await browser.get("/console/inbox")).status_code == 303
        await browser.sign_in("rita")
        for _ in range(49):  # active all the time: 43120 s in all
            rig.clock.advance(880)
            assert (await browser.get("/console/inbox")).status_code == 200
        rig.clock.advance(200)  # 43320 s: past the 43200 s absolute timeout
        assert (await browser.get("/console/inbox")).status_code == 303


async def test_logout_ends_the_session_and_needs_its_token(tmp_path: Path) -> None:
    async with console_rig(tmp_path) as rig:
        browser = rig.browser()
        await browser.sign_in("rita")
        refused = await browser.post("/console/logout", {"csrf_token": "forged"})
        assert refused.status_code == 403
        done = await browser.form_post("/console/inbox", "/console/logout", {})
        assert done.status_code == 303
        assert (await browser.get("/console/inbox")).status_code == 303


async def test_cross_site_posts_and_missing_tokens_are_refused(tmp_path: Path) -> None:
    async with console_rig(tmp_path) as rig:
        browser = rig.browser()
        page = await browser.get("/console/login")
        token = csrf(page.text)
        foreign = await browser.post("/console/login", {
            "csrf_token": token, "username": "rita", "password": PASSWORD,
        }, origin="https://evil.example")
        assert foreign.status_code == 403
        no_token = await browser.post("/console/login", {"username": "rita",
                                                          "password": PASSWORD})
        assert no_token.status_code == 403
        await browser.sign_in("rita")
        logout = await browser.post("/console/logout", {"csrf_token": csrf(
            (await browser.get("/console/inbox")).text)}, origin="https://evil.example")
        assert logout.status_code == 403


async def test_every_answer_carries_the_security_headers(tmp_path: Path) -> None:
    async with console_rig(tmp_path) as rig:
        browser = rig.browser()
        for path in ("/console/login", "/console/inbox", "/console/static/console.js",
                     "/console/nothing-here"):
            response = await browser.get(path)
            csp = response.headers["content-security-policy"]
            assert "frame-ancestors 'none'" in csp and "'unsafe-inline'" not in csp
            assert "script-src 'self'" in csp
            assert response.headers["x-content-type-options"] == "nosniff"
        tone = await browser.get("/console/static/chime.wav")
        assert tone.headers["content-type"] == "audio/wav" and tone.content[:4] == b"RIFF"
        assert (await browser.get("/console/static/../web.py")).status_code == 404
        login = await browser.get("/console/login")
        assert "<script>" not in login.text and " on" + "click=" not in login.text


async def test_next_never_leaves_the_console(tmp_path: Path) -> None:
    async with console_rig(tmp_path) as rig:
        done = await rig.browser().sign_in("rita", next_path="//evil.example/x")
        assert done.headers["location"] == "/console/inbox"


async def test_console_routes_are_not_in_the_openapi_document(tmp_path: Path) -> None:
    async with console_rig(tmp_path) as rig:
        paths = (await rig.harness.client.get("/openapi.json")).json()["paths"]
        assert not [p for p in paths if p.startswith("/console")]
