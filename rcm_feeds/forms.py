"""The feed form of the Feeds page: settings, schedule and (CSV kinds) one header input per target field."""
from __future__ import annotations

from typing import Any

from django import forms

from revops.forms import _crontab_check
from revops.models import Program

from .models import Feed, FeedKind
from .services.ingest_csv import CSV_FIELDS

MAPPING_PREFIX = "map__"


class FeedForm(forms.Form):
    """What ``feed_save`` takes. The mapping inputs follow the kind: the posted one, else ``kind``
    (a redraw, or ``?kind=`` in a link), else the feed's, else the first (X12 835). X12 kinds have no
    mapping (their layout is fixed)."""

    name = forms.CharField(max_length=120, widget=forms.TextInput(attrs={"autofocus": True}),
                           help_text="How the feed shows on runs and in the upload list, e.g. 'Aetna 835'.")
    kind = forms.ChoiceField(choices=FeedKind.choices, label="Kind of file",
                             help_text="How the feed's files are read; it cannot change once files arrived.")
    inbox_dir = forms.CharField(
        max_length=255, required=False, label="Inbox folder",
        help_text="A plain relative folder name such as 'payer-835', polled for new files. Leave empty for a feed "
                  "that only receives uploads.",
    )
    crontab = forms.CharField(
        max_length=100, label="Poll schedule (cron, UTC)", initial="*/15 * * * *",
        help_text="minute hour day-of-month month day-of-week; '*/15 * * * *' is every 15 minutes.",
    )
    source_program = forms.ModelChoiceField(
        queryset=Program.objects.order_by("name"), required=False, label="Source program",
        empty_label="None (by the rows' own program or the program mapping)",
        help_text="The program every file comes from; a 42 CFR Part 2 program tags all its rows as Part 2 data.",
    )
    strict_validation = forms.BooleanField(required=False, label="Strict X12 validation",
                                           help_text="Also validate each file with pyx12 (slower).")
    is_active = forms.BooleanField(required=False, initial=True, label="Active",
                                   help_text="An inactive feed is not polled and is not offered for uploads.")

    def __init__(self, *args: Any, feed: Feed | None = None, kind: str | None = None, **kwargs: Any) -> None:
        if feed is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "name": feed.name, "kind": feed.kind, "inbox_dir": feed.inbox_dir, "crontab": feed.crontab,
                "source_program": feed.source_program_id, "strict_validation": feed.strict_validation,
                "is_active": feed.is_active,
                **{MAPPING_PREFIX + k: v for k, v in (feed.column_mapping or {}).items()},
            }
        super().__init__(*args, **kwargs)
        kind_fixed = feed is not None and feed.pk is not None and feed.files.exists()
        if kind_fixed:
            # feed_save refuses the change too; a disabled select says so before anyone tries.
            self.fields["kind"].disabled = True
            self.fields["kind"].help_text = "Fixed: the feed has received files (add a new feed for another kind)."
            kind = feed.kind  # type: ignore[union-attr]
        data_kind = self.data.get("kind") if self.is_bound and not kind_fixed else None
        chosen = data_kind or kind or (feed.kind if feed is not None else None) or self.initial.get("kind")
        self.mapping_kind = chosen if chosen in FeedKind.values else FeedKind.X12_835
        if not self.is_bound:
            self.initial["kind"] = self.mapping_kind  # the select and the mapping inputs agree
        self.mapping_errors: list[str] = []
        for f in CSV_FIELDS.get(self.mapping_kind, ()):
            self.fields[MAPPING_PREFIX + f.name] = forms.CharField(
                required=False, max_length=200, label=f.name,
                widget=forms.TextInput(attrs={"placeholder": f.name, "autocomplete": "off"}),
                help_text=f"{f.help} Leave empty when the column is called '{f.name}'.",
            )
            self.fields[MAPPING_PREFIX + f.name].csv_required = f.required  # type: ignore[attr-defined]
        if not self.is_x12:
            del self.fields["strict_validation"]

    @property
    def is_x12(self) -> bool:
        return self.mapping_kind not in CSV_FIELDS

    def setting_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.fields if not name.startswith(MAPPING_PREFIX)]

    def mapping_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.fields if name.startswith(MAPPING_PREFIX)]

    def clean_crontab(self) -> str:
        expression = " ".join(self.cleaned_data["crontab"].split())
        _crontab_check(expression)
        return expression

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        seen: dict[str, str] = {}
        for name in self.fields:
            if not name.startswith(MAPPING_PREFIX):
                continue
            header = (cleaned.get(name) or "").strip()
            if not header:
                continue
            if header.lower() in seen:
                self.add_error(name, f"'{seen[header.lower()]}' is already mapped to this column.")
            else:
                seen[header.lower()] = name.removeprefix(MAPPING_PREFIX)
        return cleaned

    def column_mapping(self) -> dict[str, str]:
        return {name.removeprefix(MAPPING_PREFIX): value.strip() for name, value in self.cleaned_data.items()
                if name.startswith(MAPPING_PREFIX) and value and value.strip()}

    def service_kwargs(self) -> dict[str, Any]:
        """The cleaned data as ``feed_save`` keywords."""
        data = self.cleaned_data
        return {"name": data["name"], "kind": data["kind"], "inbox_dir": data["inbox_dir"],
                "crontab": data["crontab"], "column_mapping": self.column_mapping(),
                "source_program": data["source_program"],
                "strict_validation": bool(data.get("strict_validation")) and self.is_x12,
                "is_active": data["is_active"]}

    def add_service_errors(self, message_dict: dict[str, list[str]]) -> None:
        for field, errors in message_dict.items():
            if field == "column_mapping":
                self.mapping_errors.extend(errors)
            else:
                self.add_error(field if field in self.fields else None, errors)
