"""The homeowner's portal: who is signed in, and which partners are connected (and revoke)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from gridshare.auth.params import ParamError, Params, form_params
from gridshare.auth.scopes import ALL_SCOPES
from gridshare.auth.sessions import SESSION_COOKIE, ActiveSession, clear_cookie
from gridshare.deps import Portal, PortalServices
from gridshare.web.render import error_page, render
from gridshare.web.totp_view import totp_section

router = APIRouter(include_in_schema=False)

ACTION_WORDS = {
    "device.rename": "renamed a device",
    "mode.set": "changed the operation mode",
    "overlay.set": "sent an overlay plan",
    "overlay.clear": "cleared the overlay plan",
    "schedule.set": "set the weekly schedule",
    "schedule.clear": "removed the weekly schedule",
}


def _when(value: datetime | None) -> tuple[str, str]:
    if value is None:
        return "", ""
    return value.strftime("%Y-%m-%d %H:%M UTC"), value.isoformat()


def _see_other(location: str) -> RedirectResponse:
    return RedirectResponse(location, status_code=303, headers={"Cache-Control": "no-store"})


async def checked_form(
    request: Request, portal: PortalServices
) -> tuple[ActiveSession, Params] | Response:
    """The signed-in session and fields of a portal form post, with its CSRF token verified;
    or the response to send instead."""
    session = await portal.sessions.current(request)
    if session is None:
        return _see_other("/login")
    try:
        form = await form_params(request)
        form.check_no_repeats()
    except ParamError as exc:
        return error_page(f"The form could not be read: {exc}")
    if not portal.sessions.csrf_valid(session.raw_id, form.values.get("csrf_token")):
        return error_page("This form has expired. Reload the page and try again.", 403)
    return session, form


async def _checked_form(
    request: Request, portal: PortalServices
) -> tuple[ActiveSession | None, Response | None]:
    """`checked_form` for posts that need no fields besides the CSRF token."""
    checked = await checked_form(request, portal)
    if isinstance(checked, Response):
        return None, checked
    return checked[0], None


@router.get("/account")
async def account(request: Request, portal: Portal) -> Response:
    session = await portal.sessions.current(request)
    if session is None:
        return _see_other("/login")
    return await account_page(portal, session)


async def account_page(
    portal: PortalServices,
    session: ActiveSession,
    *,
    totp_notice: str | None = None,
    status_code: int = 200,
) -> Response:
    """The portal page; `totp_notice` reports a failed step of the two-step section."""
    connections = []
    user_id = session.user.id
    found = await portal.grants.connections(user_id)
    recent = await portal.homes.recent_actions_by_partner(
        user_id, [c.grant.client_id for c in found], limit=5
    )
    assistants = await portal.assistants.client_ids([c.grant.client_id for c in found])
    for c in found:
        actions = recent[c.grant.client_id]
        created, created_iso = _when(c.grant.created_at)
        last_used, last_used_iso = _when(c.grant.last_used_at)
        connections.append(
            {
                "grant_id": c.grant.id,
                "client_id": c.grant.client_id,
                "name": c.client_name,
                "assistant": c.grant.client_id in assistants,
                "created": created,
                "created_iso": created_iso,
                "last_used": last_used,
                "last_used_iso": last_used_iso,
                "scope_words": [ALL_SCOPES.get(s, s) for s in c.grant.scopes],
                "actions": [
                    {
                        "when": _when(a.at)[0],
                        "what": ACTION_WORDS.get(a.action, a.action),
                        "target": a.target,
                    }
                    for a in actions
                ],
            }
        )
    homes = [
        {
            "site_id": site.site_id,
            "address": ", ".join([*site.address.lines, site.address.city]),
            "devices": [(d.name, d.kind.value) for d in site.devices],
        }
        for site in await portal.homes.owner_sites(user_id)
    ]
    return render(
        "account.html",
        status_code=status_code,
        title="Your account",
        email=session.user.email,
        connections=connections,
        homes=homes,
        totp=await totp_section(portal.totp, session.user),
        totp_notice=totp_notice,
        csrf_token=portal.sessions.csrf_token(session.raw_id),
    )


@router.post("/account/connections/{grant_id}/revoke")
async def revoke_connection(grant_id: str, request: Request, portal: Portal) -> Response:
    session, problem = await _checked_form(request, portal)
    if session is None:
        assert problem is not None
        return problem
    await portal.grants.revoke_grant(session.user.id, grant_id[:64])
    return _see_other("/account")


@router.post("/account/signout")
async def sign_out(request: Request, portal: Portal) -> Response:
    session, problem = await _checked_form(request, portal)
    if session is None:
        assert problem is not None
        return problem
    await portal.sessions.end(session.raw_id)
    response = render("signed_out.html", title="Signed out")
    clear_cookie(request, response, SESSION_COOKIE)
    return response
