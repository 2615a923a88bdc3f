"""A browser's user-agent string in a few words ("Chrome on Windows"), for pages that list
many events. The full string stays on the record; this only names what a reader would
recognise.

A handful of substring checks, in the order that matters (Edge and Opera also say
"Chrome", Chrome also says "Safari"), rather than a library of thousands of patterns:
a summary needs the family and the system, not the version or the device model.
"""

import re

# (what the string contains, the browser's name): the first match wins.
BROWSERS = (
    ("Edg/", "Edge"),
    ("EdgA/", "Edge"),
    ("EdgiOS/", "Edge"),
    ("Edge/", "Edge"),
    ("OPR/", "Opera"),
    ("Opera", "Opera"),
    ("SamsungBrowser/", "Samsung Internet"),
    ("Firefox/", "Firefox"),
    ("FxiOS/", "Firefox"),
    ("CriOS/", "Chrome"),
    ("Chromium/", "Chromium"),
    ("Chrome/", "Chrome"),
    ("Trident/", "Internet Explorer"),
    ("MSIE ", "Internet Explorer"),
    ("Safari/", "Safari"),
    ("curl/", "curl"),
    ("python-requests/", "Python requests"),
    ("Python-urllib/", "Python"),
    ("Go-http-client/", "Go HTTP client"),
)
SYSTEMS = (
    ("Windows", "Windows"),
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("Android", "Android"),
    ("CrOS", "ChromeOS"),
    ("Macintosh", "macOS"),
    ("Mac OS X", "macOS"),
    ("Linux", "Linux"),
)
# Link checkers and mail scanners say so in their name.
ROBOT_MARKERS = ("bot", "spider", "crawler", "scanner", "preview")
UNKNOWN_SHOWN = 40


def _first(user_agent: str, table) -> str:
    return next((name for marker, name in table if marker in user_agent), "")


def _robot_name(user_agent: str) -> str:
    """The word that says it is a robot, without its version: "Googlebot"."""
    for word in re.split(r"[\s;()+,]+", user_agent):
        if any(marker in word.lower() for marker in ROBOT_MARKERS):
            return word.split("/", 1)[0]
    return user_agent


def browser_summary(user_agent: str) -> str:
    """ "Chrome on Windows", "Safari on iPhone", "Firefox"; a robot is "Automated client
    (…)"; anything unrecognised is shown as itself, shortened."""
    user_agent = (user_agent or "").strip()
    if not user_agent:
        return ""
    lowered = user_agent.lower()
    browser = _first(user_agent, BROWSERS)
    if any(marker in lowered for marker in ROBOT_MARKERS):
        return f"Automated client ({_robot_name(user_agent)[:UNKNOWN_SHOWN]})"
    if not browser:
        if len(user_agent) <= UNKNOWN_SHOWN:
            return user_agent
        return user_agent[: UNKNOWN_SHOWN - 1] + "…"
    system = _first(user_agent, SYSTEMS)
    return f"{browser} on {system}" if system else browser
