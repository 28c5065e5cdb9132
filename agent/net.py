"""The only module that talks HTTP: HTTPS with a CA bundle, timeouts, a time budget, bounded retries, a byte cap."""

# Rules this module keeps (docs/architecture.md: one module talks HTTP):
# - requests is imported lazily: a headless run that does not refresh never loads it.
# - Session.trust_env is False: proxies, netrc and REQUESTS_CA_BUNDLE from the environment are ignored, so what
#   the media says (URL, CA bundle) is what is used.
# - Every request has connect and read timeouts, and all attempts together stay inside one time budget.
# - Retries are bounded, with capped exponential backoff; Retry-After is honoured when it fits in the budget.
# - A TLS or certificate error is never retried: it will not fix itself, and retrying only hides an attack.
# - The body is streamed with a byte cap (Accept-Encoding: identity, so the cap counts what we keep).
# - Redirects are followed only to the same scheme, host and port; anything else is refused.
# - Error text names the host and path, never the query string, headers or any secret given to the client.

from __future__ import annotations

import email.utils
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

from agent.errors import SourceUnavailable

if TYPE_CHECKING:
    import requests

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_CHUNK = 64 * 1024
_GRACE = 0.2  # seconds past the budget a request may take to report its own timeout (see Client._within)


@dataclass(frozen=True)
class Limits:
    """How long and how much: per-attempt timeouts, the total budget, retries and the body cap."""

    connect_timeout: float = 3.0
    read_timeout: float = 5.0
    budget: float = 15.0  # seconds for all attempts, backoff and the body together
    retries: int = 2  # attempts after the first
    max_bytes: int = 8 * 1024 * 1024
    backoff: float = 0.2  # first pause; doubles per retry
    backoff_cap: float = 2.0
    max_redirects: int = 3
    total: float | None = None  # seconds for every request of one Client together (a paged fetch), or None


@dataclass(frozen=True)
class Response:
    """A complete, successful (2xx) answer."""

    url: str
    status: int
    headers: Mapping[str, str]
    body: bytes
    attempts: int


class NetError(SourceUnavailable):
    """A request that did not produce a usable answer. `kind` says which way it failed."""

    def __init__(self, message: str, hint: str = "", *, kind: str, attempts: int = 1, status: int = 0) -> None:
        super().__init__(message, hint)
        self.kind = kind  # url, tls, connect, timeout, status, too-large, redirect, budget, truncated, protocol
        self.attempts = attempts
        self.status = status


def where(url: str) -> str:
    """scheme://host[:port]/path of a URL: what error messages may show (no query, no user info)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def same_origin(a: str, b: str) -> bool:
    """True when both URLs have the same scheme, host and port."""
    pa, pb = urlsplit(a), urlsplit(b)

    def port(p: Any) -> int | None:
        return p.port or {"https": 443, "http": 80}.get(p.scheme)

    return (pa.scheme, (pa.hostname or "").lower(), port(pa)) == (pb.scheme, (pb.hostname or "").lower(), port(pb))


def redact(text: str, secrets: Iterable[str]) -> str:
    """Replace every secret (token, password) in `text`; secrets shorter than 4 characters are masked too."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "[redacted]")
    return text


def check_url(url: str) -> None:
    """Refuse anything but an absolute https:// URL with a host."""
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        raise NetError(
            f"{where(url) or url!r} is not an https:// URL",
            "catalog traffic must use HTTPS; change the URL to https://",
            kind="url",
            attempts=0,
        )


def _reason(exc: BaseException) -> str:
    """The innermost human reason inside a requests/urllib3 exception, without URLs."""
    text = str(exc)
    match = re.search(r"\[SSL: [A-Z0-9_]+\] ([^(\"']+?)(?: \(_ssl|['\")]|$)", text)
    if match:
        return match.group(1).strip()
    match = re.search(r"\[Errno -?\d+\] ([^'\")]+)", text)
    if match:
        return match.group(1).strip()
    for marker in ("certificate verify failed", "hostname mismatch", "certificate has expired", "wrong version number"):
        if marker in text.lower():
            return marker
    return type(exc).__name__


def _times(n: int) -> str:
    return {1: "once", 2: "twice", 3: "three times", 4: "four times", 5: "five times"}.get(n, f"{n} times")


def retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date); None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class Client:
    """An HTTPS client bound to one CA bundle and one set of limits. Use as a context manager."""

    def __init__(
        self,
        *,
        ca_bundle: Path | None,
        limits: Limits | None = None,
        headers: Mapping[str, str] | None = None,
        auth: Any = None,
        secrets: Iterable[str] = (),
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        import requests  # lazily: see the module comment

        self._requests = requests
        self.limits = limits or Limits()
        self._clock = clock
        self._sleep = sleep
        self._secrets = tuple(s for s in secrets if s)
        if ca_bundle is not None and not Path(ca_bundle).is_file():
            raise SourceUnavailable(
                f"CA bundle {ca_bundle} does not exist",
                "put the PEM file with the server's issuing CA beside the profile, or fix its path",
            )
        session = requests.Session()
        session.trust_env = False
        # None means requests' own bundle (certifi); the media normally brings its own.
        session.verify = str(ca_bundle) if ca_bundle is not None else True
        session.headers["Accept-Encoding"] = "identity"
        session.headers["User-Agent"] = "prestart"
        session.headers.update(headers or {})
        session.auth = auth
        self._session = session
        self._abandoned: list[Any] = []  # request threads still stuck past their deadline
        self._end = clock() + self.limits.total if self.limits.total is not None else None

    def __enter__(self) -> Client:
        return self

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self._session.close()

    def _error(self, message: str, hint: str = "", **kw: Any) -> NetError:
        return NetError(redact(message, self._secrets), redact(hint, self._secrets), **kw)

    def get(self, url: str, *, headers: Mapping[str, str] | None = None) -> Response:
        """GET `url` within the limits; raise NetError (a SourceUnavailable) with the reason when it fails."""
        check_url(url)
        req = self._requests
        limits = self.limits
        deadline = self._clock() + limits.budget
        if self._end is not None:
            deadline = min(deadline, self._end)
        current = url
        attempts = 0
        redirects = 0
        failures: list[NetError] = []
        while True:
            remaining = deadline - self._clock()
            if remaining <= 0:
                raise self._give_up(failures, attempts, f"no answer from {where(url)} within {limits.budget:g} s")
            attempts += 1
            wait: float | None = None
            timeout = (min(limits.connect_timeout, remaining), min(limits.read_timeout, remaining))
            try:
                resp = self._within(deadline, url, "GET", current, headers=headers, timeout=timeout)
            except NetError:
                raise
            except req.exceptions.SSLError as exc:
                raise self._error(
                    f"TLS error talking to {where(current)}: {_reason(exc)}",
                    "check that the media's CA bundle holds the server's issuing CA and that the certificate is "
                    "valid for this host name and not expired",
                    kind="tls",
                    attempts=attempts,
                ) from None
            except req.exceptions.ConnectTimeout:
                failure = self._error(
                    f"could not connect to {where(current)} within {limits.connect_timeout:g} s",
                    kind="connect",
                    attempts=attempts,
                )
            except req.exceptions.ReadTimeout:
                failure = self._error(
                    f"{where(current)} did not answer within {limits.read_timeout:g} s",
                    kind="timeout",
                    attempts=attempts,
                )
            except req.exceptions.ConnectionError as exc:
                failure = self._error(
                    f"could not connect to {where(current)}: {_reason(exc)}", kind="connect", attempts=attempts
                )
            except req.exceptions.RequestException as exc:
                failure = self._error(
                    f"request to {where(current)} failed: {_reason(exc)}", kind="protocol", attempts=attempts
                )
            except Exception as exc:  # an auth plugin (NTLM) choking on a malformed challenge, and the like
                raise self._error(
                    f"{where(current)} sent an answer that could not be read ({type(exc).__name__})",
                    "check that the URL points at the right server; this is not a network problem",
                    kind="protocol",
                    attempts=attempts,
                ) from None
            else:
                try:
                    status = resp.status_code
                    if status in REDIRECT_STATUSES and "location" in resp.headers:
                        target = urljoin(current, resp.headers["location"])
                        if not same_origin(current, target):
                            raise self._error(
                                f"{where(current)} redirected to another host ({where(target)}); refused",
                                "publish the catalog at the URL the profile names, or change the URL",
                                kind="redirect",
                                attempts=attempts,
                            )
                        redirects += 1
                        if redirects > limits.max_redirects:
                            raise self._error(
                                f"{where(url)} redirected more than {limits.max_redirects} times",
                                kind="redirect",
                                attempts=attempts,
                            )
                        current = target
                        attempts -= 1  # a redirect is not a failed attempt
                        continue
                    if 200 <= status < 300:
                        body = self._read(resp, current, deadline, attempts)
                        return Response(current, status, dict(resp.headers), body, attempts)
                    text = f"{where(current)} answered {status} {resp.reason or ''}".rstrip()
                    if status not in RETRY_STATUSES:
                        raise self._error(text, _status_hint(status), kind="status", attempts=attempts, status=status)
                    failure = self._error(text, kind="status", attempts=attempts, status=status)
                    wait = retry_after(resp.headers.get("Retry-After"))
                except NetError as exc:
                    if exc.kind not in ("truncated", "timeout"):
                        raise
                    failure = exc
                finally:
                    resp.close()
            failures.append(failure)
            if attempts > limits.retries:
                raise self._give_up(failures, attempts)
            remaining = deadline - self._clock()
            if wait is not None and wait >= remaining:
                raise self._give_up(
                    failures, attempts, suffix=f"; it asked to retry after {wait:g} s, beyond the time budget"
                )
            delay = wait if wait is not None else min(limits.backoff_cap, limits.backoff * 2 ** (attempts - 1))
            if delay >= remaining:
                raise self._give_up(failures, attempts, suffix=f"; the {limits.budget:g} s time budget ran out")
            self._sleep(delay)

    def _within(self, deadline: float, shown: str, method: str, url: str, **kw: Any) -> requests.Response:
        """Send one request and return once the status line and headers are in, by `deadline` at the latest.

        requests' timeouts are per socket read: a server that sends its headers a byte a second would hold
        the call for ever. So the request runs on a daemon thread and we stop waiting at the deadline; the
        abandoned thread ends with the connection (or with the process, which is about to hand over).
        """
        import threading

        box: dict[str, Any] = {}

        def send() -> None:
            try:
                box["resp"] = self._session.request(method, url, stream=True, allow_redirects=False, **kw)
            except BaseException as exc:  # handed to the waiting thread
                box["error"] = exc

        worker = threading.Thread(target=send, name="prestart-net", daemon=True)
        worker.start()
        # A little grace: the socket timeouts are cut to the budget too, and their own message says more.
        worker.join(max(0.0, deadline - self._clock()) + _GRACE)
        if worker.is_alive():
            self._abandoned.append(worker)
            raise self._error(
                f"{where(shown)} did not send its answer within the {self.limits.budget:g} s time budget",
                "the server is too slow or hostile; try again later or check the URL",
                kind="budget",
            )
        if "error" in box:
            raise box["error"]
        resp: requests.Response = box["resp"]
        return resp

    def _give_up(self, failures: list[NetError], attempts: int, fallback: str = "", suffix: str = "") -> NetError:
        if not failures:
            return self._error(fallback, kind="budget", attempts=attempts)
        last = failures[-1]
        texts = [f.message for f in failures]
        if len(set(texts)) == 1:
            message = texts[0] if len(texts) == 1 else f"{texts[0]} {_times(len(texts))}"
        else:
            message = "; ".join(dict.fromkeys(texts)) + f" ({len(texts)} attempts)"
        return self._error(message + suffix, last.hint, kind=last.kind, attempts=attempts, status=last.status)

    def _read(self, resp: requests.Response, url: str, deadline: float, attempts: int) -> bytes:
        """Stream the body with the byte cap and the deadline; the socket timeout shrinks as the budget runs out."""
        limits = self.limits
        declared = resp.headers.get("Content-Length")
        expected = int(declared) if declared and declared.isdigit() else None
        if expected is not None and expected > limits.max_bytes:
            raise self._error(
                f"{where(url)} sent {expected} bytes, more than the {limits.max_bytes}-byte limit",
                "the catalog is too large for the agent; check the URL",
                kind="too-large",
                attempts=attempts,
            )
        raw = resp.raw
        sock = getattr(getattr(raw, "connection", None), "sock", None)
        import urllib3.exceptions as urllib3_errors  # requests' own transport; already loaded with it

        chunks: list[bytes] = []
        total = 0
        while True:
            remaining = deadline - self._clock()
            if remaining <= 0:
                raise self._error(
                    f"{where(url)} sent only {total} bytes within the {limits.budget:g} s time budget",
                    kind="budget",
                    attempts=attempts,
                )
            if sock is not None:
                sock.settimeout(min(limits.read_timeout, remaining))
            try:
                chunk = raw.read1(_CHUNK, decode_content=False)
            except (urllib3_errors.ReadTimeoutError, TimeoutError):
                if deadline - self._clock() <= 0.01:
                    continue  # reported as the budget running out above
                raise self._error(
                    f"{where(url)} stopped sending for {limits.read_timeout:g} s after {total} bytes",
                    kind="timeout",
                    attempts=attempts,
                ) from None
            except (urllib3_errors.ProtocolError, urllib3_errors.HTTPError, OSError) as exc:
                why = _reason(exc)
                raise self._error(
                    f"{where(url)} closed the connection after {total} bytes"
                    + (f" of {expected}" if expected is not None else "")
                    + (f" ({why})" if why != type(exc).__name__ else ""),
                    kind="truncated",
                    attempts=attempts,
                ) from None
            if not chunk:
                break
            total += len(chunk)
            if total > limits.max_bytes:
                raise self._error(
                    f"{where(url)} sent more than the {limits.max_bytes}-byte limit",
                    "the catalog is too large for the agent; check the URL",
                    kind="too-large",
                    attempts=attempts,
                )
            chunks.append(chunk)
        if expected is not None and total != expected:
            raise self._error(
                f"{where(url)} closed the connection after {total} of {expected} bytes",
                kind="truncated",
                attempts=attempts,
            )
        return b"".join(chunks)


def _status_hint(status: int) -> str:
    if status in (401, 403):
        return "check the credentials in the environment and the account's rights on the server"
    if status == 404:
        return "check the URL; was the catalog published there?"
    return "check the server's logs"


def get(url: str, *, ca_bundle: Path | None, limits: Limits | None = None, **kw: Any) -> Response:
    """One GET with a fresh client (see Client.get)."""
    with Client(ca_bundle=ca_bundle, limits=limits, **kw) as client:
        return client.get(url)


def post_json(url: str, payload: Any, *, ca_bundle: Path | None, timeout: float = 5.0) -> Response:
    """POST `payload` as JSON once (no retries: a report is not worth a longer run), within `timeout` seconds.

    The Client's rules hold: https only, the CA bundle, no proxies from the environment, connect/read timeouts
    inside one budget, a small reply cap, redirects only to the same origin (307/308, which keep the method and
    body). Raises NetError (a SourceUnavailable) with the reason.
    """
    import json

    check_url(url)
    limits = Limits(connect_timeout=min(3.0, timeout), read_timeout=timeout, budget=timeout, retries=0,
                    max_bytes=64 * 1024)
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    with Client(ca_bundle=ca_bundle, limits=limits) as client:
        req = client._requests
        deadline = client._clock() + limits.budget
        current = url
        for _ in range(limits.max_redirects + 1):
            remaining = deadline - client._clock()
            if remaining <= 0:
                break
            timeouts = (min(limits.connect_timeout, remaining), min(limits.read_timeout, remaining))
            try:
                resp = client._within(deadline, url, "POST", current, data=body,
                                      headers={"Content-Type": "application/json"}, timeout=timeouts)
            except NetError:
                raise
            except req.exceptions.SSLError as exc:
                raise client._error(f"TLS error talking to {where(current)}: {_reason(exc)}",
                                    "check that the media's CA bundle holds the server's issuing CA",
                                    kind="tls") from None
            except req.exceptions.ConnectTimeout:
                raise client._error(f"could not connect to {where(current)} within {limits.connect_timeout:g} s",
                                    kind="connect") from None
            except req.exceptions.ReadTimeout:
                raise client._error(f"{where(current)} did not answer within {limits.read_timeout:g} s",
                                    kind="timeout") from None
            except req.exceptions.RequestException as exc:
                raise client._error(f"could not reach {where(current)}: {_reason(exc)}", kind="connect") from None
            except Exception as exc:
                raise client._error(f"{where(current)} sent an answer that could not be read ({type(exc).__name__})",
                                    kind="protocol") from None
            try:
                status = resp.status_code
                if status in (307, 308) and "location" in resp.headers:
                    target = urljoin(current, resp.headers["location"])
                    if not same_origin(current, target):
                        raise client._error(f"{where(current)} redirected to another host ({where(target)}); refused",
                                            kind="redirect")
                    current = target
                    continue
                if not 200 <= status < 300:
                    raise client._error(f"{where(current)} answered {status} {resp.reason or ''}".rstrip(),
                                        _status_hint(status), kind="status", status=status)
                reply = client._read(resp, current, deadline, 1)
                return Response(current, status, dict(resp.headers), reply, 1)
            finally:
                resp.close()
        raise client._error(f"no answer from {where(url)} within {limits.budget:g} s", kind="budget")
