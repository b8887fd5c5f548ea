"""What planning a poll's deliveries reads besides the cases, each read once per poll rather
than once per event: an arrears batch raises thousands of referrals, each acknowledged to a
landlord under the same few agreements."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from services.notifications.store import NotificationStore
from shared.agreement_book import AgreementBook
from shared.agreements import Agreement


class PollAgreements(AgreementBook):
    """The agreement book as it stood when a poll's deliveries were planned: each
    organisation's agreements read once (`check` asks `snapshot`, so it is read once too).

    The whole poll is checked as of that one moment, as each event alone was checked as of
    its own: an agreement changing while a poll is planned applies from the next poll, as it
    would to an event planned a moment earlier."""

    def __init__(self, book: AgreementBook) -> None:
        super().__init__(book.collection)
        self._held: dict[str | None, list[Agreement]] = {}

    async def snapshot(self, organisation: str | None = None) -> list[Agreement]:
        if organisation not in self._held:
            self._held[organisation] = await super().snapshot(organisation)
        return self._held[organisation]


class PollReferences:
    """Landlords' own references of the poll's tenancies (TenancyReferenceShared), read once:
    at the first notice that shows one, for every tenancy of the poll (or given, when the
    handler read them already). A tenancy never told shows its id."""

    def __init__(
        self,
        store: NotificationStore,
        tenancy_ids: Iterable[str | None],
        known: Mapping[str, str] | None = None,
    ) -> None:
        self.store = store
        self._poll = {tid for tid in tenancy_ids if tid}
        self._known = dict(known or {})
        self._read = set(self._poll) if known is not None else set()

    async def reference(self, tenancy_id: str | None) -> str:
        if not tenancy_id:
            return ""
        if tenancy_id not in self._read:
            wanted = (self._poll - self._read) | {tenancy_id}
            self._known.update(await self.store.tenancy_references_of(wanted))
            self._read |= wanted
        return self._known.get(tenancy_id) or tenancy_id
