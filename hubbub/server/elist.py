"""LIST filters (ISUPPORT `ELIST=CMNTU`), parsed once and applied to each channel.

Every comma-separated item of LIST's parameters is one of:

* `>N` / `<N`: more / fewer than N users (U);
* `C>N` / `C<N`: created more / less than N minutes ago (C);
* `T>N` / `T<N`: topic set more / less than N minutes ago (T); a channel without a
  topic matches no T condition;
* `!mask`: names not matching the mask (N);
* a mask with `*` or `?`, or a plain channel name: names matching one of them (M).

All conditions must hold. Times are "minutes ago", the meaning the Modern IRC document
settled on (some servers swap < and >). An item that parses as none of these (`<x`)
is ignored, as other servers do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from hubbub.irc.casemap import casefold, glob_to_regex

ELIST = "CMNTU"
_CONDITION = re.compile(r"([CcTt]?)([<>])([0-9]{1,9})\Z")


@dataclass
class ListFilter:
    names: list[str] = field(default_factory=list)  # casefolded names without wildcards
    masks: list[re.Pattern[str]] = field(default_factory=list)
    not_masks: list[re.Pattern[str]] = field(default_factory=list)
    # (field, op, value): field "U" users, "C" creation, "T" topic; op "<" or ">"
    conditions: list[tuple[str, str, int]] = field(default_factory=list)

    @property
    def only_named(self) -> bool:
        """Only named channels can match: look them up instead of scanning all."""
        return bool(self.names) and not self.masks

    def accepts(self, name: str, users: int, created: float, topic_time: float | None, now: float) -> bool:
        folded = casefold(name)
        if (self.names or self.masks) and folded not in self.names and not any(
            p.fullmatch(folded) for p in self.masks
        ):
            return False
        if any(p.fullmatch(folded) for p in self.not_masks):
            return False
        for what, op, value in self.conditions:
            if what == "U":
                measured: float = users
                limit: float = value
            else:
                stamp = created if what == "C" else topic_time
                if stamp is None:
                    return False
                measured, limit = now - stamp, value * 60.0
            if not (measured > limit if op == ">" else measured < limit):
                return False
        return True


def parse(params: list[str]) -> ListFilter:
    """The filter made of LIST's parameters (channels, masks and conditions alike)."""
    result = ListFilter()
    for item in (i for param in params[:2] for i in param.split(",") if i):
        condition = _CONDITION.match(item)
        if condition is not None:
            what = condition.group(1).upper() or "U"
            result.conditions.append((what, condition.group(2), int(condition.group(3))))
        elif item[0] in "<>" or (len(item) > 1 and item[0] in "CcTt" and item[1] in "<>"):
            continue  # a malformed condition
        elif item[0] == "!":
            if len(item) > 1:
                result.not_masks.append(glob_to_regex(item[1:]))
        elif "*" in item or "?" in item:
            result.masks.append(glob_to_regex(item))
        else:
            result.names.append(casefold(item))
    return result
