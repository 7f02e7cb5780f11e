"""`page_weight`: every byte a phone downloads for the first view of the survey.

A real headless Chromium (Playwright, /usr/bin/chromium, 360x740 phone
viewport, a fresh profile per page view) opens an invitation link /s/<token>
served by gunicorn like in production; the link answers 303 to /survey. Every
request the view triggers is recorded with its response header and (encoded,
i.e. compressed as served) body bytes from `request.sizes()`. Chromium is
told to send `Accept-Encoding: gzip, deflate, br` (what it sends over HTTPS).

The app runs as `make run` has it: the demo municipality's name and logo
in the header (app/branding.py). Budget: 14 KB (14,336 bytes) in at most 3 requests, no web fonts, no
JavaScript; ratio = value / budget. Measured for every shipped survey in
every language it has; reported per language for the demo's labour-market
survey (nacka-arbetsmarknad) and for the heaviest survey in each language.
Bytes are HTTP/1.1 on loopback: no TLS, no HTTP/2 header compression.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from app.demo import DEMO_LOGO, DEMO_MUNICIPALITY
from app.i18n import LANGUAGES

from . import world
from .harness import ACCEPT_ENCODING, app_environment, gunicorn, sqlite_url
from .registry import Figure, Run, benchmark

BUDGET_BYTES = 14 * 1024
BUDGET_REQUESTS = 3
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic"]
VIEWPORT = {"width": 360, "height": 740}


@dataclass
class Fetched:
    url: str
    resource_type: str
    status: int
    header_bytes: int
    body_bytes: int
    encoding: str
    content_length: int | None

    @property
    def total(self) -> int:
        return self.header_bytes + self.body_bytes


@dataclass
class PageView:
    survey: str
    language: str
    fetched: list[Fetched]
    failed: list[str] = field(default_factory=list)
    fonts: int = 0
    scripts: int = 0
    html_bytes: int = 0
    sent_accept_encoding: str = ""

    @property
    def total(self) -> int:
        return sum(f.total for f in self.fetched)

    @property
    def redirect(self) -> int:
        return sum(f.total for f in self.fetched if 300 <= f.status < 400)

    @property
    def page(self) -> int:
        return self.total - self.redirect

    def problems(self) -> list[str]:
        found = []
        if self.failed:
            found.append(f"failed requests: {self.failed}")
        kinds = [f.resource_type for f in self.fetched]
        if self.fonts or "font" in kinds:
            found.append("web fonts")
        if self.scripts or "script" in kinds:
            found.append("JavaScript")
        statuses = [f.status for f in self.fetched]
        if statuses[:1] != [303] or 200 not in statuses:
            found.append(f"statuses {statuses}, expected 303 then 200")
        for f in self.fetched:
            if f.content_length is not None and f.content_length != f.body_bytes:
                found.append(f"{f.url}: {f.body_bytes} body bytes but Content-Length {f.content_length}")
        return found


@benchmark("page_weight", "bytes and requests of a phone's first survey view (/s/<token> -> /survey), per language")
def run(run: Run) -> list[Figure]:
    from playwright.sync_api import sync_playwright

    database_url = sqlite_url(run.workdir, "page-weight")
    app = world.make_app(database_url, run.workdir)
    try:
        campaigns = world.campaigns_per_survey(app)
    finally:
        world.dispose(app)

    views: list[PageView] = []
    # Production settings: Secure cookies (Chromium keeps them on http://localhost),
    # and a municipality with a logo in every page's header, as `make run` shows it.
    env = app_environment(database_url, SECURE_COOKIES="1", MUNICIPALITY_NAME=DEMO_MUNICIPALITY,
                          MUNICIPALITY_LOGO=str(DEMO_LOGO))
    with gunicorn("app-page-weight", "app:create_app()", env, run.workdir) as server, sync_playwright() as pw:
        base = f"http://localhost:{server.port}"
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for campaign in campaigns:
                for language, token in campaign.tokens.items():
                    views.append(first_view(browser, f"{base}/s/{token}", campaign.survey_key, language))
        finally:
            browser.close()

    encodings = sorted({f.encoding for v in views for f in v.fetched if f.body_bytes})
    run.note(f"Chromium sent Accept-Encoding: {views[0].sent_accept_encoding!r}; bodies served as {encodings}")
    for view in views:
        if view.problems():
            run.note(f"page_weight {view.survey}/{view.language}: " + "; ".join(view.problems()))
    run.note("all page views (survey: language bytes/requests): ")
    for survey in sorted({v.survey for v in views}):
        run.note(f"  {survey}: " + ", ".join(f"{v.language} {v.total:,}/{len(v.fetched)}"
                                             for v in views if v.survey == survey))
    return _figures(views)


def first_view(browser, url: str, survey: str, language: str) -> PageView:
    """What a phone downloads when it opens the link `url` and is shown the survey.

    `browser` is a Playwright Chromium; each view gets a fresh context (no
    cache, no cookies) with the phone's viewport and Accept-Encoding. Raises
    RuntimeError when the view does not end on the survey form. Also used by
    tests/browser/test_first_screen.py, so the test and this benchmark count
    the same bytes.
    """
    context = browser.new_context(viewport=VIEWPORT, is_mobile=True, has_touch=True, device_scale_factor=2,
                                  extra_http_headers={"Accept-Encoding": ACCEPT_ENCODING})
    try:
        page = context.new_page()
        finished, failed = [], []
        page.on("requestfinished", lambda request: finished.append(request))
        page.on("requestfailed", lambda request: failed.append(f"{request.url} {request.failure}"))
        response = page.goto(url, wait_until="load")
        page.wait_for_load_state("networkidle")
        if response is None or response.status != 200 or page.locator("form input[name=csrf_token]").count() != 1:
            raise RuntimeError(f"{url} did not show the survey form ({response.status if response else 'no response'})")
        fonts = page.evaluate("document.fonts.size")
        scripts = page.evaluate("document.scripts.length")
        html_bytes = len(response.body())
        fetched = []
        sent = ""
        for request in finished:
            sizes = request.sizes()
            answer = request.response()
            headers = answer.all_headers() if answer else {}
            sent = sent or request.all_headers().get("accept-encoding", "")
            length = headers.get("content-length")
            fetched.append(Fetched(
                url=request.url, resource_type=request.resource_type,
                status=answer.status if answer else 0,
                header_bytes=sizes["responseHeadersSize"], body_bytes=sizes["responseBodySize"],
                encoding=headers.get("content-encoding", "identity"),
                content_length=int(length) if length and length.isdigit() else None,
            ))
        return PageView(survey, language, fetched, failed, fonts, scripts, html_bytes, sent)
    finally:
        context.close()


def _figures(views: list[PageView]) -> list[Figure]:
    figures = []
    demo = {v.language: v for v in views if v.survey == world.DEMO_SURVEY}
    for language in LANGUAGES:
        view = demo.get(language)
        if view is None:
            continue
        prefix = f"page_weight.{view.survey}.{language}"
        problems = view.problems()
        figures += [
            Figure(f"{prefix}.bytes", view.total, "B", BUDGET_BYTES, ("<=", 1.0),
                   note="; ".join(problems) or f"HTML {view.html_bytes:,} B before compression"),
            Figure(f"{prefix}.requests", len(view.fetched), "requests", BUDGET_REQUESTS, ("<=", 1.0),
                   note=", ".join(f"{f.status} {f.resource_type}" for f in view.fetched)
                   + ("" if view.fonts or view.scripts else "; no fonts, no scripts")),
            Figure(f"{prefix}.redirect_bytes", view.redirect, "B", BUDGET_BYTES, None, note="/s/<token> 303"),
            Figure(f"{prefix}.page_bytes", view.page, "B", BUDGET_BYTES, None,
                   note="/survey: " + ", ".join(f"{f.header_bytes:,} header + {f.body_bytes:,} {f.encoding} body"
                                                for f in view.fetched if f.status == 200)),
        ]
    for language in LANGUAGES:
        candidates = [v for v in views if v.language == language]
        if not candidates:
            continue
        heaviest = max(candidates, key=lambda v: v.total)
        figures.append(Figure(f"page_weight.heaviest.{language}.bytes", heaviest.total, "B", BUDGET_BYTES, ("<=", 1.0),
                              note=f"{heaviest.survey}, {len(heaviest.fetched)} requests"
                              + ("; " + "; ".join(heaviest.problems()) if heaviest.problems() else "")))
    return figures
