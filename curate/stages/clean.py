"""The ``clean`` stage: normalise text, strip markup and boilerplate, mask PII, bound lengths.

Every step works on a whole column of texts at once: polars string expressions (Rust regex) do
the bulk of the work. Python runs only where no vectorised form exists, and only on the rows a
Rust pre-filter flags: ``unicodedata.normalize`` on non-ASCII rows, ``html.unescape`` on rows with
entities, and the PII checks (context, Luhn, IP validity, digit counts) on the candidate spans
Rust has marked, not on whole documents.

Steps, in this order (each is a fixpoint, and the order is chosen so that no later step can
create work for an earlier one, which makes the stage idempotent: ``clean(clean(x)) == clean(x)``):

1. characters: line separators become ``\\n``, control/zero-width characters and the BOM go,
   then Unicode normalisation (NFC/NFKC);
2. HTML (opt-in): comments and script/style/noscript/svg blocks go, block tags become line
   breaks, other tags go, entities are decoded; steps 1-2 repeat on the rows step 2 changed,
   because a decoded entity can yield a new tag, control character or non-normalised character;
3. whitespace: runs of spaces/tabs collapse, lines lose trailing spaces, 3+ newlines become 2;
4. PII masking: emails, cards (Luhn-valid), IPv4/IPv6, phone numbers -> placeholders, repeated
   on the rows it changed until nothing changes (masking one kind can expose another);
5. boilerplate lines (cookie banners, "all rights reserved", share/login/skip links...) go;
6. length bounds on the result: empty, chars, words (CJK characters count as words).

Chat and preference records are cleaned message by message (every role); the length bounds
apply to their text view (``view``). Dropped records carry the *cleaned* text, i.e. what the
length rule looked at (and no unmasked PII).
"""

from __future__ import annotations

import html
import ipaddress
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field, field_validator, model_validator

from curate.records import CHOSEN, MESSAGES, PROMPT, REJECTED, TEXT, TextView, kind_of, text_view
from curate.stages.base import BatchResult, BatchStage, Counters, StageConfig, partition
from curate.text import word_count_expr

NormalForm = Literal["NFC", "NFKC", "none"]
PiiKind = Literal["email", "ip", "phone", "card"]

PLACEHOLDERS: dict[str, str] = {
    "email": "<EMAIL>",
    "ip": "<IP_ADDRESS>",
    "phone": "<PHONE>",
    "card": "<CARD>",
}

REASON_EMPTY = "clean_empty_after_clean"
REASON_TOO_SHORT = "clean_too_short"
REASON_TOO_LONG = "clean_too_long"
REASON_TOO_FEW_WORDS = "clean_too_few_words"
REASON_TOO_MANY_WORDS = "clean_too_many_words"

# --------------------------------------------------------------------------------------------
# Boilerplate lines. Matched case-insensitively (Rust regex syntax) against single lines no
# longer than ``boilerplate_max_line_chars``; a pattern may use ^/$ to mean the whole line.
# Grouped by kind so that the stats say which kind of line went.

_LOGIN_WORDS = (
    r"log ?in|sign ?in|sign ?up|log ?out|sign ?out|register|my account|create (?:an )?account"
    r"|anmelden|einloggen|registrieren|abmelden|konto erstellen"
    r"|connexion|se connecter|s'inscrire|inscription|déconnexion|créer un compte"
    r"|iniciar sesión|registrarse|regístrate|acceder|cerrar sesión|crear (?:una )?cuenta"
    r"|登录|登入|注册|注銷|注销|退出登录|ログイン|ログアウト|新規登録"
)
# Whole-line navigation items may sit between bullets, brackets and arrows, but not after "--"
# (a command-line option such as "--login") or before a full stop (the end of a hard-wrapped
# sentence such as "... you have to\nregister.").
_LEAD = r"^[\s\[(|•·«‹>*]*(?:[-–]\s+)?"
_TAIL = r"[\s\])|•·»›<>:*↑]*(?:\.\.\.|…)?[\s\])»›]*$"
_SHARE_WORDS = r"share|tweet|pin it|email|print|facebook|twitter|linkedin|pinterest|whatsapp|reddit|telegram"
_SOCIAL = r"facebook|twitter|x|linkedin|pinterest|whatsapp|reddit|telegram|email|e-mail"

DEFAULT_BOILERPLATE: dict[str, tuple[str, ...]] = {
    "cookies": (
        r"\b(?:we|this (?:web)?site|our (?:web)?site) (?:uses?|utili[sz]es?) cookies\b",
        r"\b(?:accept|allow|reject|decline|manage) (?:all )?cookies\b",
        r"\bcookie (?:policy|settings|preferences|consent|notice)\b",
        r"\bby (?:continuing to (?:browse|use)|using) (?:this|our) (?:web)?site,? you (?:agree|accept|consent)",
        r"\b(?:diese (?:web)?seite|diese website|wir) (?:verwendet|verwenden|nutzt|nutzen) cookies\b",
        r"\bcookies (?:akzeptieren|zulassen|ablehnen)\b",
        r"\bcookie-(?:einstellungen|richtlinie|hinweis)",
        r"\b(?:ce site|nous) utilis(?:e|ons) (?:des )?cookies\b",
        r"\b(?:accepter|refuser) (?:tous )?les cookies\b",
        r"\bpolitique (?:de|des|relative aux) cookies\b",
        r"\b(?:este sitio(?: web)?|esta (?:web|página)) (?:utiliza|usa) cookies\b",
        r"\b(?:utilizamos|usamos) cookies\b",
        r"\baceptar (?:todas )?(?:las )?cookies\b",
        r"\bpolítica de cookies\b",
        r"(?:本网站|本站|我们|本網站)(?:使用|采用|使用了)\s?cookies?",
        r"(?:接受|同意)(?:所有)?\s?cookies?",
        r"クッキー(?:を使用|の使用)|cookieを使用",
    ),
    "rights_reserved": (
        r"\ball rights reserved\b",
        r"\balle rechte vorbehalten\b",
        r"\btous droits réservés\b",
        r"\btodos los derechos reservados\b",
        r"\btutti i diritti riservati\b",
        r"\btodos os direitos reservados\b",
        r"版权所有|版權所有|保留所有权利|保留一切权利",
        r"無断転載(?:を)?禁(?:止|じます)",
    ),
    "newsletter": (
        r"\b(?:subscribe|sign up) (?:to|for) (?:our|the) (?:free )?(?:weekly |daily |monthly )?(?:newsletter|mailing list)\b",
        r"\bnewsletter (?:abonnieren|bestellen)\b",
        r"\b(?:abonnieren sie|melden sie sich (?:für|zu)) (?:unseren|unserem) newsletter\b",
        r"\b(?:abonnez-vous|inscrivez-vous) (?:à|a) (?:notre|la) (?:newsletter|lettre d'information)\b",
        r"\b(?:suscríbete|suscríbase|suscribirse) (?:a|al) (?:nuestro|nuestra|el|la)? ?(?:newsletter|boletín)",
        r"订阅(?:我们的)?(?:新闻|电子)?(?:通讯|邮件|简报)",
        r"メール(?:マガジン|マガ)(?:を)?(?:購読|登録)",
    ),
    "click_here": (
        r"\bclick here\b",
        r"\b(?:hier klicken|klicken sie hier)\b",
        r"\bcliquez ici\b",
        r"\b(?:haz|haga|pulse|pincha) (?:clic |click )?aquí",
        r"点击(?:这里|此处)|點擊(?:這裡|此處)|こちらをクリック",
    ),
    "share": (
        rf"\bshare (?:this (?:post|article|page|story) )?(?:on|via|to) (?:{_SOCIAL})\b",
        rf"{_LEAD}(?:{_SHARE_WORDS})(?:\W+(?:{_SHARE_WORDS}))+{_TAIL}",
        r"\b(?:auf|bei|via) (?:facebook|twitter|whatsapp|linkedin|x) teilen\b",
        r"\bteilen (?:auf|bei|via) (?:facebook|twitter|whatsapp|linkedin)\b",
        r"\bpartager sur (?:facebook|twitter|linkedin|whatsapp|x)\b",
        r"\bcompartir en (?:facebook|twitter|linkedin|whatsapp|x)\b",
        r"分享到\s?(?:微信|微博|朋友圈|qq|facebook|twitter)",
    ),
    "skip_links": (
        rf"{_LEAD}skip to (?:the )?(?:main )?(?:content|navigation|menu|search)\b",
        rf"{_LEAD}jump to (?:the )?(?:navigation|content|search)\b",
        rf"{_LEAD}back to top{_TAIL}",
        rf"{_LEAD}(?:direkt )?zum (?:haupt)?inhalt(?: springen)?{_TAIL}",
        rf"{_LEAD}nach oben{_TAIL}",
        rf"{_LEAD}(?:aller|passer) au contenu\b",
        rf"{_LEAD}retour en haut(?: de (?:la )?page)?{_TAIL}",
        rf"{_LEAD}(?:saltar|ir) al contenido\b",
        rf"{_LEAD}volver arriba{_TAIL}",
        rf"{_LEAD}跳(?:转到|转至|转|至|到)(?:主要)?内容",
        rf"{_LEAD}返回顶部{_TAIL}",
    ),
    "login": (rf"{_LEAD}(?:{_LOGIN_WORDS})(?:\s*(?:/|\||·|•|or|oder|ou|o|或)\s*(?:{_LOGIN_WORDS}))*{_TAIL}",),
    "javascript": (
        r"\b(?:please )?enable javascript\b",
        r"\bjavascript (?:is (?:disabled|required|turned off)|must be enabled)\b",
        r"\bjavascript (?:aktivieren|ist deaktiviert)\b",
        r"\bactive[rz] (?:le )?javascript\b",
        r"\bhabilit(?:ar|e|a) (?:el )?javascript\b",
        r"(?:启用|开启|啟用)\s?javascript",
    ),
    "read_more": (
        rf"{_LEAD}(?:read more|continue reading|weiterlesen|mehr lesen|lire la suite|leer más|seguir leyendo"
        rf"|阅读全文|阅读更多|続きを読む){_TAIL}",
    ),
}

# --------------------------------------------------------------------------------------------
# Characters.

_NON_ASCII = r"[^\x00-\x7f]"
_LINE_BREAKS = r"\r\n?|[\x0b\x0c\x85\u2028\u2029]"
# Cc minus tab and newline; invisible characters that carry no text: zero-width space, word
# joiner, BOM / zero-width no-break space, soft hyphen, Mongolian vowel separator. ZWJ and ZWNJ
# are kept on purpose: Persian, Indic scripts and emoji sequences need them.
_INVISIBLE = r"[\p{Cc}--[\t\n]]|[\u200b\u2060\ufeff\u00ad\u180e]"
_HSPACE = "\\t \u00a0\u1680\u2000-\u200a\u202f\u205f\u3000"
_SPACE_RUN = f"[{_HSPACE}]{{2,}}|[{_HSPACE}--[ ]]"

# --------------------------------------------------------------------------------------------
# HTML. Tags are recognised only by name (HTML5 plus common legacy ones) and strict syntax, so
# "a < b and c > d", "List<T>" and the <EMAIL> placeholder are never touched; and tags are
# stripped only from documents that look like HTML (two of: a closing tag, a structural opening
# tag, a tag with an attribute, a comment, a doctype), so "usage: cp <source> <dest>" survives.

_BLOCK_TAGS = (
    "address|article|aside|blockquote|br|caption|center|dd|details|dialog|div|dl|dt|fieldset|figcaption"
    "|figure|footer|form|h[1-6]|header|hgroup|hr|li|main|menu|nav|ol|option|p|pre|section|summary|table"
    "|tbody|tfoot|thead|title|tr|ul|body|html|head"
)
_CELL_TAGS = "td|th"
_INLINE_TAGS = (
    "a|abbr|area|audio|b|base|bdi|bdo|big|blink|button|canvas|cite|code|col|colgroup|data|datalist|del"
    "|dfn|dir|em|embed|font|frame|frameset|i|iframe|img|input|ins|kbd|label|legend|link|map|mark|marquee"
    "|meta|meter|nobr|object|optgroup|output|param|picture|progress|q|rp|rt|ruby|s|samp|select|slot"
    "|small|source|span|strike|strong|sub|sup|textarea|time|track|tt|u|var|video|wbr"
    "|[a-z][a-z0-9]*-[a-z0-9-]*"  # custom elements
    "|(?:o|w|v|x|m|st1|fb|g|og):[a-z][a-z0-9-]*"  # Word/VML/Facebook/Google namespaces, not <info:gcc>
)
_DROP_BLOCKS = ("script", "style", "noscript", "svg")
_ATTRS = r"""(?:\s(?:[^<>"']|"[^"]*"|'[^']*')*)?/?>"""


def _tag(names: str) -> str:
    return rf"(?i)</?(?:{names}){_ATTRS}"


_ALL_TAGS = f"{_BLOCK_TAGS}|{_CELL_TAGS}|{_INLINE_TAGS}|{'|'.join(_DROP_BLOCKS)}"
# Bare opening tags count only for names that never serve as placeholders in prose ("DROP TABLE
# <table>", "cp <source> <dest>", "<input>" are plain text).
_MARKER_OPEN_TAGS = (
    "p|br|hr|div|span|h[1-6]|ul|ol|li|tr|td|th|tbody|thead|html|body|head|script|style|noscript|em|strong"
    "|blockquote|iframe|img"
)
_HTML_MARKER = (
    rf"(?i)</(?:{_ALL_TAGS})\s*>|<(?:{_MARKER_OPEN_TAGS})\s*/?>|<(?:{_ALL_TAGS})\s[^<>]*=|<!--|<!doctype\s"
)
_HTML_MIN_MARKERS = 2
_HTML_REPLACEMENTS: tuple[tuple[str, str], ...] = (
    (r"(?s)<!--.*?-->", ""),
    (r"(?i)<!doctype[^>]*>|<\?xml[^>]*\?>|<!\[CDATA\[|\]\]>", ""),
    *((rf"(?is)<{name}(?:\s[^>]*)?>.*?</{name}\s*>", "") for name in _DROP_BLOCKS),
    (_tag(_BLOCK_TAGS), "\n"),
    (_tag(_CELL_TAGS), " "),
    (_tag(f"{_INLINE_TAGS}|{'|'.join(_DROP_BLOCKS)}"), ""),
)
# Only complete references (with ';'): html.unescape alone also decodes legacy forms without
# one, which turns C code such as "&param" into "¶m" (seen in the bench corpus's man pages).
_ENTITY = r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});"
_ENTITY_RE = re.compile(_ENTITY)


def _unescape_entities(text: str) -> str:
    return _ENTITY_RE.sub(lambda match: html.unescape(match.group(0)), text)


# --------------------------------------------------------------------------------------------
# PII. A Rust regex marks candidate spans over the whole column (emails are masked right there);
# Python then looks only at the marked spans of the rows that have one, and checks what a regex
# cannot: the characters around the span, the Luhn checksum, IP validity, digit counts, dates.
# No candidate crosses a line break, so removing boilerplate lines cannot create a new match.

# Local part and domain may hold letters of any spaced script (RFC 6531, IDN), so that
# "josé.garcia@correo.es" does not come out as "josé.<EMAIL>"; Han and kana are excluded because
# Chinese/Japanese text runs into an address without a space ("请联系support@example.com请回复").
# No \b: leftmost-first matching starts at the first character of the run anyway, and a Unicode
# \b would keep the regex off its fast DFA.
_EMAIL_CHAR = r"[[\p{L}\p{N}]--[\p{Han}\p{Hiragana}\p{Katakana}]]"
_EMAIL = (
    rf"{_EMAIL_CHAR}(?:{_EMAIL_CHAR}|[._%+-])*@(?:{_EMAIL_CHAR}(?:{_EMAIL_CHAR}|-)*\.)+"
    rf"{_EMAIL_CHAR}{{2,24}}"
)

_MARK_OPEN, _MARK_CLOSE = "\x02", "\x03"  # control characters: step 1 removed them from the text
_MARKED = re.compile(f"{_MARK_OPEN}([^{_MARK_CLOSE}]*){_MARK_CLOSE}")
_MARKS = str.maketrans("", "", _MARK_OPEN + _MARK_CLOSE)

_IPV4_SPAN = r"\d{1,3}(?:\.\d{1,3}){3}"
_IPV6_SPAN = r"[0-9A-Fa-f]{0,4}:[0-9A-Fa-f]{0,4}:[0-9A-Fa-f:]{0,35}(?:(?:\.\d{1,3}){3})?"
# Card-shaped only (one run, 4-4-4-4(-3) with spaces or dashes, Amex/Diners 4-6-5/4-6-4), so a
# card right after other digits ("+49 30 1234567 4111111111111111") starts a span of its own.
_CARD_SPAN = (
    r"\d{13,19}|\d{4}(?: \d{4}){2} \d{1,4}(?: \d{1,3})?|\d{4}(?:-\d{4}){2}-\d{1,4}(?:-\d{1,3})?"
    r"|\d{4}[ -]\d{6}[ -]\d{4,5}"
)
_PHONE_INTERNATIONAL = r"\+(?:\d{7,15}|\d{1,3}(?:[ .-]?\(\d{1,5}\)|[ .-]\d{1,8}){1,7})"  # +49 30 1234567
_PHONE_PARENTHESES = r"\(\d{2,5}\)[ .-]?\d{2,5}(?:[ .-]\d{2,5}){0,3}"  # (555) 234-5678, (030) 1234 5678
_PHONE_NATIONAL = (
    r"(?:1[ .-])?[2-9]\d{2}[ .-]\d{3}[ .-]\d{4}"  # 555-234-5678, 1 555 234 5678
    r"|0\d{1,4}[ .-]\d{2,8}(?:[ .-]\d{2,8}){0,3}"  # 030 1234 5678, 06 12 34 56 78, 020 7946 0958
)

_OCTET = re.compile(r"25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d")
# A dotted quad right after one of these words is a version or section number, not an address.
_NOT_AN_IP_BEFORE = re.compile(
    r"(?:\b(?:version|ver|v|release|rel|build|rev|revision|update|section|sec|chapter|clause|para|"
    r"paragraph|article|art|item|rule|step|part|versión|abschnitt|kapitel)[.:]?|§|版本|第)\s*$",
    re.IGNORECASE,
)
_DATE_LIKE = re.compile(r"\+?(?:\d{4}[-./]\d{1,2}[-./]\d{1,2}|\d{1,2}[-./]\d{1,2}[-./]\d{2,4})(?:\D|$)")
_YEAR_IN_PARENS = re.compile(r"\((?:19|20)\d\d\)")
_NON_DIGIT = re.compile(r"\D")
_WORD_CHAR = re.compile(r"\w")


def _is_word(char: str) -> bool:
    return bool(char) and bool(_WORD_CHAR.match(char))


def _luhn_ok(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def is_card_number(candidate: str) -> bool:
    """Whether ``candidate`` (digits with optional uniform spaces or dashes) is a payment card number.

    13-19 digits, an issuer prefix that exists (2-6: Mastercard 2-series, Amex/Diners/JCB, Visa,
    Mastercard/Maestro, Discover/UnionPay), card-style grouping when separated (4-4-4-4..., Amex
    4-6-5, Diners 4-6-4), not one repeated digit, and a valid Luhn checksum. So long ids, phone
    lists and timestamps starting with 0, 1, 7, 8 or 9 never match, and an arbitrary digit string
    starting with 2-6 matches one time in ten only if it is also unseparated or grouped like a card.
    """
    digits = _NON_DIGIT.sub("", candidate)
    if not 13 <= len(digits) <= 19 or digits[0] not in "23456" or len(set(digits)) == 1:
        return False
    separators = set(candidate) - set("0123456789")
    if len(separators) > 1:
        return False
    if separators:
        groups = [len(g) for g in re.split(r"[ -]", candidate)]
        fours = all(g == 4 for g in groups[:-1]) and 1 <= groups[-1] <= 4
        if not (fours or groups in ([4, 6, 5], [4, 6, 4])):
            return False
    return _luhn_ok(digits)


def is_ip_address(candidate: str, before: str = "") -> bool:
    """Whether ``candidate`` is an IPv4 or IPv6 address worth masking, given the text ``before`` it.

    IPv4: four decimal octets 0-255 without leading zeros, *except* right after a version/section
    word ("version 1.2.3.4", "v1.2.3.4", "section 2.1.3.4", "§ 1.2.3.4"). A dotted quad in prose is
    ambiguous: curate masks it unless the words before it say it is a number of another kind.
    IPv6: a valid address (Python's ``ipaddress``) with at least 4 hex digits and one decimal
    digit, so "::1", "a::b" and times such as 12:30:45 are left alone.
    """
    if ":" not in candidate:
        octets = candidate.split(".")
        valid = len(octets) == 4 and all(_OCTET.fullmatch(o) for o in octets)
        return valid and not _NOT_AN_IP_BEFORE.search(before[-24:])
    try:
        ipaddress.IPv6Address(candidate)
    except ValueError:
        return False
    hex_digits = sum(c not in ":." for c in candidate)
    return hex_digits >= 4 and any(c.isdigit() for c in candidate)


def is_phone_number(candidate: str) -> bool:
    """Whether a phone-shaped ``candidate`` really is one.

    International numbers (+...) need 8-15 digits (E.164); national ones 9-12 and one kind of
    separator between groups after a parenthesised area code. Dates (2024-01-15, 15.01.2024) and a
    year in parentheses ("(2019) 123 4567") and one repeated digit are not phones.
    """
    digits = _NON_DIGIT.sub("", candidate)
    if _DATE_LIKE.match(candidate) or _YEAR_IN_PARENS.match(candidate) or len(set(digits)) == 1:
        return False
    if candidate.startswith("+"):
        return 8 <= len(digits) <= 15
    tail = candidate.split(")", 1)[-1].lstrip(" .-")
    if len(set(_NON_DIGIT.findall(tail))) > 1:
        return False
    return 9 <= len(digits) <= 12


# Each check gets a piece of a marked span and up to 24 characters either side (marks removed),
# and says whether the piece is PII: the context tests are the look-arounds a single regex would
# use ("not preceded by a letter, digit or dot"...), the rest is validation.


def _ip_ok(piece: str, before: str, after: str) -> bool:
    last, following = before[-1:], after[:1]
    if ":" in piece:
        boundary_ok = last not in (":", ".") and following != ":" and not re.match(r"\.\w", after)
    else:
        boundary_ok = last != "." and not re.match(r"\.\d", after)
    boundary_ok = boundary_ok and not _is_word(last) and not _is_word(following)
    return boundary_ok and is_ip_address(piece, before)


def _card_ok(piece: str, before: str, after: str) -> bool:
    boundary_ok = before[-1:] not in (".", ",", "-") and not _is_word(before[-1:])
    boundary_ok = boundary_ok and not _is_word(after[:1]) and not re.match(r"[.,-]?\d", after)
    return boundary_ok and is_card_number(piece)


def _phone_ok(piece: str, before: str, after: str) -> bool:
    last = before[-1:]
    excluded_before = "+" if piece.startswith("+") else "(" if piece.startswith("(") else ".,+-"
    boundary_ok = (not last or last not in excluded_before) and not _is_word(last) and not _is_word(after[:1])
    if not piece.startswith("+"):
        boundary_ok = boundary_ok and not re.match(r"[.,-]\d", after)
    return boundary_ok and is_phone_number(piece)


@dataclass(frozen=True)
class _Detector:
    """One PII kind: candidate spans, each with the characters that may precede it (a look-behind
    done by hand: Rust regex has none, so the context character is matched and put back)."""

    alternatives: tuple[tuple[str, str], ...]  # (context class, span) pairs, Rust and Python syntax
    ok: Callable[[str, str, str], bool]
    placeholder: str

    @property
    def pattern(self) -> str:
        """Alternative i is ``(^|context_i)(span_i)``: groups 2i+1 and 2i+2."""
        return "|".join(f"(^|{context})({span})" for context, span in self.alternatives)

    @property
    def marking(self) -> str:
        """Replacement that keeps the context and wraps the span in marks (unmatched groups are empty)."""
        groups = range(len(self.alternatives))
        contexts = "".join(f"${{{2 * i + 1}}}" for i in groups)
        spans = "".join(f"${{{2 * i + 2}}}" for i in groups)
        return f"{contexts}{_MARK_OPEN}{spans}{_MARK_CLOSE}"

    @cached_property
    def shape(self) -> re.Pattern[str]:
        return re.compile("|".join(span for _, span in self.alternatives))


_DETECTORS: dict[str, _Detector] = {
    "card": _Detector(((r"[^\w.,-]", _CARD_SPAN),), _card_ok, PLACEHOLDERS["card"]),
    "ip": _Detector(((r"[^\w.]", _IPV4_SPAN), (r"[^\w:.]", _IPV6_SPAN)), _ip_ok, PLACEHOLDERS["ip"]),
    "phone": _Detector(
        ((r"[^\w+]", _PHONE_INTERNATIONAL), (r"[^\w(]", _PHONE_PARENTHESES), (r"[^\w.,+-]", _PHONE_NATIONAL)),
        _phone_ok,
        PLACEHOLDERS["phone"],
    ),
}
_PII_ORDER: tuple[PiiKind, ...] = ("email", "card", "ip", "phone")
_PIECE_SEPARATORS = " .-"


def _mask_span(span: str, before: str, after: str, detector: _Detector) -> tuple[str, int]:
    """Mask the PII in one candidate ``span``: the whole span if it passes, else the leftmost,
    longest pieces that do, cut at separators. Rust's greedy match "+49 30 1234567 41111111" has
    no look-ahead to back off with; this finds "+49 30 1234567" as a look-around regex would."""

    def ok(i: int, j: int) -> bool:
        piece = span[i:j]
        return bool(detector.shape.fullmatch(piece)) and detector.ok(
            piece, before + span[:i], span[j:] + after
        )

    if ok(0, len(span)):
        return detector.placeholder, 1
    seps = _PIECE_SEPARATORS
    starts = [i for i in range(len(span)) if span[i] not in seps and (i == 0 or span[i - 1] in seps)]
    ends = [
        j for j in range(1, len(span) + 1) if span[j - 1] not in seps and (j == len(span) or span[j] in seps)
    ]
    out, done, count = [], 0, 0
    for i in starts:
        if i < done:
            continue
        j = next((j for j in reversed(ends) if j > i and (i, j) != (0, len(span)) and ok(i, j)), None)
        if j is not None:
            out += [span[done:i], detector.placeholder]
            done, count = j, count + 1
    return "".join([*out, span[done:]]), count


def _mask_marked(text: str, detector: _Detector) -> tuple[str, int]:
    """Mask the marked spans of ``text``; return the new text and the number of placeholders."""
    count = 0

    def replace(match: re.Match[str]) -> str:
        nonlocal count
        before = text[max(0, match.start() - 48) : match.start()].translate(_MARKS)[-24:]
        after = text[match.end() : match.end() + 48].translate(_MARKS)[:24]
        new, found = _mask_span(match.group(1), before, after, detector)
        count += found
        return new

    return _MARKED.sub(replace, text), count


_SURROGATE = re.compile("[\ud800-\udfff]")


def drop_surrogates(text: str) -> str:
    """``text`` with UTF-16 surrogates repaired or removed (``json.loads`` yields them for "\\ud800").

    A high+low pair becomes the character it encodes, a lone surrogate is removed. Arrow strings
    are UTF-8 and cannot hold surrogates, so a reader should call this before a string becomes a
    column; inside the stage every string is already valid UTF-8.
    """
    if not _SURROGATE.search(text):
        return text
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "ignore")


# --------------------------------------------------------------------------------------------
# Config.


def _check_rust_regex(pattern: str) -> None:
    try:
        pl.select(pl.lit("").str.contains(pattern))
    except pl.exceptions.PolarsError as err:
        raise ValueError(f"invalid regex {pattern!r} (Rust regex syntax, no look-around): {err}") from None


class CleanConfig(StageConfig):
    """Options of the ``clean`` stage. ``clean: {}`` normalises and masks but drops only empty texts."""

    normalize: NormalForm = Field(
        "NFC",
        description="Unicode normalisation: NFC (default: composes characters, changes no meaning), NFKC (also "
        "folds compatibility forms: fullwidth ＡＢＣ->ABC, ligature ﬁ->fi, ²->2; helps dedupe and tokenizers, "
        "loses those distinctions) or none.",
    )
    remove_control: bool = Field(
        True,
        description="Turn \\r\\n, \\r, \\v, \\f, NEL and U+2028/2029 into \\n and remove other control characters "
        "(\\t and \\n stay), zero-width space, word joiner, BOM and soft hyphen. On by default: they are invisible "
        "noise for a model. ZWJ/ZWNJ are kept (Persian, Indic scripts, emoji need them).",
    )
    normalize_whitespace: bool = Field(
        True,
        description="Collapse runs of spaces/tabs (and Unicode spaces such as NBSP) to one space, strip spaces at "
        "line ends, collapse 3+ newlines to one blank line, strip the document. On by default: layout whitespace "
        "of scraped pages carries no text.",
    )
    keep_indentation: bool = Field(
        False,
        description="With normalize_whitespace, keep the leading spaces/tabs of each line (code, poetry). Off by "
        "default: indentation in web and HTML-derived text is layout noise.",
    )
    strip_html: bool = Field(
        False,
        description="Strip HTML from documents that look like HTML (at least two of: a closing tag, <div>/<p>/<br>"
        "-like tag, a tag with an attribute, a comment): drop comments and script/style/noscript/svg blocks, turn block "
        "tags (p, br, div, li, h1-6, tr...) into line breaks and cells into spaces, remove other known tags; "
        "decode complete entities (&amp; &#233; &#x4e2d;) in every text. Only known tag names with tag syntax "
        "are touched: 'a < b and c > d' stays. Off by default: text that discusses HTML (docs, code) would "
        "lose it; turn it on for scraped pages.",
    )
    pii: tuple[PiiKind, ...] = Field(
        ("email", "ip", "phone", "card"),
        description="PII to mask: email -> <EMAIL>, ip (IPv4 and IPv6) -> <IP_ADDRESS>, phone -> <PHONE>, card "
        "(13-19 digits, Luhn-valid, card-style grouping) -> <CARD> (placeholders as in BigCode's StarCoder PII "
        "redaction). All on by default: training data should not memorise contact details; the detectors are "
        "conservative (dates, years, version numbers after 'version'/'v', ordinary long numbers stay). [] turns "
        "masking off.",
    )
    boilerplate: bool = Field(
        True,
        description="Remove lines that match the built-in boilerplate patterns (cookie banners, 'all rights "
        "reserved', newsletter prompts, 'click here', share/login/skip links, 'enable JavaScript', 'read more'; "
        "en/de/fr/es/it/pt/zh/ja). On by default: such lines are navigation, not content.",
    )
    boilerplate_patterns: tuple[str, ...] = Field(
        (),
        description="Extra line patterns (Rust regex syntax, matched case-insensitively anywhere in a line; use "
        "^...$ for whole lines). A matching line is removed. Empty by default.",
    )
    boilerplate_max_line_chars: int = Field(
        300,
        ge=1,
        description="Lines longer than this are never removed as boilerplate, so a paragraph that mentions cookies "
        "or 'click here' in passing survives. 300 covers the longest usual cookie banners.",
    )
    min_chars: int = Field(
        0,
        ge=0,
        description="Drop texts with fewer characters than this after cleaning (reason clean_too_short). 0 by "
        "default: empty texts are always dropped (clean_empty_after_clean) and the quality stage owns the "
        "published length rules.",
    )
    max_chars: int | None = Field(
        None,
        ge=1,
        description="Drop texts with more characters than this after cleaning (clean_too_long). Unset by default: "
        "the reader's record size bound already catches runaway records.",
    )
    min_words: int = Field(
        0,
        ge=0,
        description="Drop texts with fewer words than this (clean_too_few_words). Words split on whitespace, each "
        "CJK character counts as a word (curate.text), so Chinese/Japanese pages are not wiped out. 0 by default.",
    )
    max_words: int | None = Field(
        None,
        ge=1,
        description="Drop texts with more words than this (clean_too_many_words). Unset by default.",
    )
    view: TextView = Field(
        default_factory=TextView,
        description="For chat/preference records, which roles/fields form the text the length bounds look at "
        "(cleaning itself applies to every message). Default: all of them.",
    )

    @field_validator("boilerplate_patterns")
    @classmethod
    def _patterns_compile(cls, patterns: tuple[str, ...]) -> tuple[str, ...]:
        for pattern in patterns:
            _check_rust_regex(pattern)
        return patterns

    @field_validator("pii")
    @classmethod
    def _pii_unique(cls, kinds: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(dict.fromkeys(kinds))

    @model_validator(mode="after")
    def _bounds_ordered(self) -> CleanConfig:
        if self.max_chars is not None and self.max_chars < self.min_chars:
            raise ValueError(f"max_chars ({self.max_chars}) is below min_chars ({self.min_chars})")
        if self.max_words is not None and self.max_words < self.min_words:
            raise ValueError(f"max_words ({self.max_words}) is below min_words ({self.min_words})")
        return self


# --------------------------------------------------------------------------------------------
# Cleaning a column of texts.


@dataclass
class CleanedTexts:
    """Cleaned texts (same length and order as the input, nulls stay null) and additive counters."""

    texts: pl.Series
    counters: Counters = field(default_factory=dict)


def _on_rows(texts: pl.Series, mask: pl.Series, fn: Callable[[pl.Series], pl.Series]) -> pl.Series:
    """Apply the column function ``fn`` only to the rows where ``mask`` is true."""
    rows = mask.fill_null(False).arg_true()
    if rows.len() == 0:
        return texts
    out = texts.clone()
    out.scatter(rows, fn(texts.gather(rows)))
    return out


def _python_on_rows(texts: pl.Series, mask: pl.Series, fn: Callable[[str], str]) -> pl.Series:
    """Apply the per-string ``fn`` on the rows ``mask`` flags."""
    return _on_rows(
        texts, mask, lambda subset: pl.Series(subset.name, [fn(t) for t in subset.to_list()], dtype=pl.String)
    )


def _replace_all(texts: pl.Series, rules: Iterable[tuple[str, str]]) -> pl.Series:
    expr = pl.col(texts.name)
    for pattern, replacement in rules:
        expr = expr.str.replace_all(pattern, replacement)
    return texts.to_frame().select(expr).to_series()


def _normalize_chars(texts: pl.Series, cfg: CleanConfig) -> pl.Series:
    """Line breaks to \\n, invisible characters out, then Unicode normalisation (in that order:
    removing a control character between a letter and a combining mark must not leave the pair
    unnormalised)."""
    rules: list[tuple[str, str]] = []
    if cfg.remove_control:
        rules += [(_LINE_BREAKS, "\n"), (_INVISIBLE, "")]
    texts = _replace_all(texts, rules)
    if cfg.normalize != "none":
        # ASCII is already normalised. CPython's normalize() answers most of the rest from its
        # quick-check tables: measured 2.7x faster than polars' str.normalize on the bench corpus.
        form = cfg.normalize
        texts = _python_on_rows(
            texts, texts.str.contains(_NON_ASCII), lambda t: unicodedata.normalize(form, t)
        )
    return texts


def _strip_html_once(texts: pl.Series) -> pl.Series:
    # Two markers at least: plain text that quotes one tag ('add "<base href=url>"', an IRC nick
    # "<br>") is not a web page; real pages have dozens.
    is_html = texts.str.count_matches(_HTML_MARKER) >= _HTML_MIN_MARKERS
    texts = _on_rows(texts, is_html, lambda s: _replace_all(s, _HTML_REPLACEMENTS))
    texts = _python_on_rows(texts, texts.str.contains(_ENTITY), _unescape_entities)
    return texts


def _chars_and_html(texts: pl.Series, cfg: CleanConfig, counters: Counters) -> pl.Series:
    """Steps 1-2 to a fixpoint: rows that HTML stripping changed go round again (a decoded entity
    can be a tag, a control character or a character NFKC folds, e.g. &amp;lt;b&amp;gt;)."""
    texts = _normalize_chars(texts, cfg)
    if not cfg.strip_html:
        return texts
    rows = pl.Series("rows", np.arange(texts.len()), dtype=pl.UInt32)
    changed_docs = 0
    for round_ in range(64):  # each round strictly shrinks the changed rows; 64 is a safety net
        subset = texts.gather(rows)
        stripped = _strip_html_once(subset)
        changed = (stripped != subset).fill_null(False)
        if not changed.any():
            break
        if round_ == 0:
            changed_docs = int(changed.sum())
        rows = rows.filter(changed)
        texts = texts.clone()
        texts.scatter(rows, _normalize_chars(stripped.filter(changed), cfg))
    counters["html.texts_changed"] = float(changed_docs)
    return texts


def _whitespace(texts: pl.Series, cfg: CleanConfig) -> pl.Series:
    if not cfg.normalize_whitespace:
        return texts
    if cfg.keep_indentation:
        rules = [(f"([^\\s])(?:{_SPACE_RUN})", "${1} ")]
    else:
        rules = [(_SPACE_RUN, " "), ("(?m)^ +", "")]
    rules += [(f"(?m)[{_HSPACE}]+$", ""), ("\n{3,}", "\n\n")]
    return _replace_all(texts, rules).str.strip_chars()


def _mask_kind(texts: pl.Series, detector: _Detector) -> tuple[pl.Series, int]:
    """Mask one PII kind: Rust marks candidate spans, Python checks only the marked spans."""
    total = 0

    def validate(subset: pl.Series) -> pl.Series:
        nonlocal total
        marked = subset.str.replace_all(detector.pattern, detector.marking).to_list()
        results = [_mask_marked(text, detector) for text in marked]
        total += sum(count for _, count in results)
        return pl.Series(subset.name, [text for text, _ in results], dtype=pl.String)

    return _on_rows(texts, texts.str.contains(detector.pattern), validate), total


def _mask_pii(texts: pl.Series, kinds: tuple[PiiKind, ...], counters: Counters) -> pl.Series:
    if "email" in kinds:
        counters["pii.email"] = float(texts.str.count_matches(_EMAIL).fill_null(0).sum())
        texts = texts.str.replace_all(_EMAIL, PLACEHOLDERS["email"])
    detectors = {kind: _DETECTORS[kind] for kind in _PII_ORDER if kind in kinds and kind != "email"}
    totals = dict.fromkeys(detectors, 0)
    # Repeat on the rows that changed until nothing changes, so that masking is a fixpoint and
    # hence idempotent: masking one kind can expose another (a phone masked next to a card
    # changes what precedes the card), and a greedy span can hide a second number behind it.
    rows = pl.Series("rows", np.arange(texts.len()), dtype=pl.UInt32)
    for _ in range(64):  # every round that changes a row removes digits from it; a safety net
        if rows.len() == 0 or not detectors:
            break
        subset = texts.gather(rows)
        masked = subset
        for kind, detector in detectors.items():
            masked, found = _mask_kind(masked, detector)
            totals[kind] += found
        changed = (masked != subset).fill_null(False)
        rows, masked = rows.filter(changed), masked.filter(changed)
        if rows.len():
            texts = texts.clone()
            texts.scatter(rows, masked)
    counters.update({f"pii.{kind}": float(total) for kind, total in totals.items()})
    return texts


def _boilerplate_groups(cfg: CleanConfig) -> dict[str, str]:
    # ASCII word boundaries: a Unicode \b keeps Rust's regex off its fast DFA on non-ASCII text
    # (measured 150x slower). In the built-in patterns every \b sits next to an ASCII letter, where
    # the ASCII boundary is the same test (a test checks that no \b touches a non-ASCII letter).
    groups: dict[str, str] = {}
    if cfg.boilerplate:
        groups = {name: "|".join(ps).replace(r"\b", r"(?-u:\b)") for name, ps in DEFAULT_BOILERPLATE.items()}
    if cfg.boilerplate_patterns:
        groups["user"] = "|".join(f"(?:{p})" for p in cfg.boilerplate_patterns)
    return {name: f"(?i:{pattern})" for name, pattern in groups.items()}


def _remove_boilerplate(texts: pl.Series, cfg: CleanConfig, counters: Counters) -> pl.Series:
    groups = _boilerplate_groups(cfg)
    if not groups:
        return texts
    any_group = "|".join(groups.values())
    line = pl.element()
    is_boilerplate = line.str.contains(any_group) & (line.str.len_chars() <= cfg.boilerplate_max_line_chars)
    removed: dict[str, float] = dict.fromkeys(groups, 0.0)

    def strip_lines(subset: pl.Series) -> pl.Series:
        lines = subset.to_frame("t").select(pl.col("t").str.split("\n")).to_series()
        hits = lines.list.eval(line.filter(is_boilerplate)).explode(empty_as_null=False, keep_nulls=False)
        for name, pattern in groups.items():
            removed[name] += float(hits.str.contains(pattern).sum())
        return lines.list.eval(line.filter(~is_boilerplate)).list.join("\n")

    texts = _on_rows(texts, texts.str.contains(f"(?m){any_group}"), strip_lines)
    counters["lines_removed.boilerplate"] = float(sum(removed.values()))
    counters.update({f"lines_removed.boilerplate.{name}": n for name, n in removed.items() if n})
    return texts


def _tidy_after_line_removal(texts: pl.Series, cfg: CleanConfig) -> pl.Series:
    if not cfg.normalize_whitespace:
        return texts
    return texts.str.replace_all("\n{3,}", "\n\n").str.strip_chars()


def clean_texts(texts: pl.Series, cfg: CleanConfig | None = None) -> CleanedTexts:
    """Clean every string of ``texts`` (steps 1-5 of the module docstring); nulls stay null."""
    cfg = cfg or CleanConfig()
    texts = texts.cast(pl.String, strict=False).rename("text")
    counters: Counters = {}
    chars_in = float(texts.str.len_chars().fill_null(0).sum())
    original = texts
    texts = _chars_and_html(texts, cfg, counters)
    texts = _whitespace(texts, cfg)
    texts = _mask_pii(texts, cfg.pii, counters)
    texts = _remove_boilerplate(texts, cfg, counters)
    texts = _tidy_after_line_removal(texts, cfg)
    counters["texts"] = float(texts.len())
    counters["texts_changed"] = float((texts != original).fill_null(False).sum())
    counters["chars_in"] = chars_in
    counters["chars_out"] = float(texts.str.len_chars().fill_null(0).sum())
    return CleanedTexts(texts, counters)


def clean_text(text: str, cfg: CleanConfig | None = None) -> str:
    """Clean one string (convenience for tests and notebooks; the stage works on whole columns)."""
    return clean_texts(pl.Series([text], dtype=pl.String), cfg).texts[0]


# --------------------------------------------------------------------------------------------
# Records.


def _with_contents(column: pl.Series, contents: pl.Series) -> pl.Series:
    """The message-list ``column`` with each message's ``content`` replaced by ``contents`` (in
    order of the flattened messages); null lists, null messages and other struct fields stay."""
    lists = column.to_arrow()
    if isinstance(lists, pa.ChunkedArray):
        lists = lists.combine_chunks()
    messages = lists.flatten()
    names = [f.name for f in messages.type]
    new_content = contents.to_arrow().cast(messages.type.field("content").type)
    fields = [new_content if name == "content" else messages.field(name) for name in names]
    rebuilt = pa.StructArray.from_arrays(fields, fields=list(messages.type), mask=messages.is_null())
    lengths = pc.fill_null(pc.list_value_length(lists), 0).to_numpy(zero_copy_only=False)
    offsets = pa.array(np.concatenate([[0], np.cumsum(lengths)]), type=pa.int64())
    list_type = pa.LargeListArray if pa.types.is_large_list(lists.type) else pa.ListArray
    if list_type is pa.ListArray:
        offsets = offsets.cast(pa.int32())
    return pl.Series(column.name, list_type.from_arrays(offsets, rebuilt, mask=lists.is_null()))


def _clean_message_columns(
    batch: pl.DataFrame, columns: list[str], cfg: CleanConfig
) -> tuple[pl.DataFrame, Counters]:
    flat = [
        batch[name].explode(empty_as_null=False, keep_nulls=False).struct.field("content") for name in columns
    ]
    cleaned = clean_texts(pl.concat(flat) if flat else pl.Series([], dtype=pl.String), cfg)
    out, start = batch, 0
    for name, contents in zip(columns, flat, strict=True):
        part = cleaned.texts.slice(start, contents.len())
        out = out.with_columns(_with_contents(batch[name], part))
        start += contents.len()
    return out, cleaned.counters


def _length_reasons(view: pl.Series, cfg: CleanConfig) -> pl.Series:
    text = pl.col("view")
    chars = text.str.len_chars().fill_null(0)
    words = word_count_expr(text)
    reason = pl.when(text.is_null() | (text.str.strip_chars().str.len_chars().fill_null(0) == 0)).then(
        pl.lit(REASON_EMPTY)
    )
    if cfg.min_chars:
        reason = reason.when(chars < cfg.min_chars).then(pl.lit(REASON_TOO_SHORT))
    if cfg.max_chars is not None:
        reason = reason.when(chars > cfg.max_chars).then(pl.lit(REASON_TOO_LONG))
    if cfg.min_words:
        reason = reason.when(words < cfg.min_words).then(pl.lit(REASON_TOO_FEW_WORDS))
    if cfg.max_words is not None:
        reason = reason.when(words > cfg.max_words).then(pl.lit(REASON_TOO_MANY_WORDS))
    return view.rename("view").to_frame().select(reason.otherwise(pl.lit(None, dtype=pl.String))).to_series()


def apply_clean(batch: pl.DataFrame, cfg: CleanConfig) -> BatchResult:
    """Clean a batch of text, chat or preference records and drop those the length bounds reject."""
    if batch.height == 0:
        return partition(batch, pl.Series([], dtype=pl.String), {})
    kind = kind_of(batch)
    if kind == "text":
        cleaned = clean_texts(batch[TEXT], cfg)
        out, counters = batch.with_columns(cleaned.texts.alias(TEXT)), cleaned.counters
    else:
        columns = (
            [MESSAGES] if kind == "chat" else [c for c in (PROMPT, CHOSEN, REJECTED) if c in batch.columns]
        )
        out, counters = _clean_message_columns(batch, columns, cfg)
    view = out[TEXT] if kind == "text" else text_view(out, cfg.view)
    return partition(out, _length_reasons(view, cfg), counters)


CLEAN = BatchStage(name="clean", config=CleanConfig, apply=apply_clean)

__all__ = [
    "CLEAN",
    "DEFAULT_BOILERPLATE",
    "PLACEHOLDERS",
    "CleanConfig",
    "CleanedTexts",
    "apply_clean",
    "clean_text",
    "clean_texts",
    "drop_surrogates",
    "is_card_number",
    "is_ip_address",
    "is_phone_number",
]
