"""Incidents in the tickets table: the root ticket's item carries the incident's aggregate.

On the root item: `incident_id`, `incident_members` (string set of member ticket ids, the root included),
`incident_companies` and `incident_priorities` (string sets). On every member item: `incident_id` and
`incident_position` (its report number). One UpdateItem per change, so concurrent reports of one burst
cannot lose each other (ADD on sets is atomic); the conditional write on the root makes a second, racing
incident for the same root impossible.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from contract.errors import TmsError
from contract.models import Priority, TicketStatus
from pipeline.domain.incidents import Incident, IncidentLink, Member, ordinal, rolled_up_priority, root_of

KEY = "ticket_id"
INCIDENT_ID = "incident_id"
MEMBERS = "incident_members"
COMPANIES = "incident_companies"
PRIORITIES = "incident_priorities"
POSITION = "incident_position"
ROOT = "incident_root"  # on members: the root ticket (whose item holds the aggregate)
REPORT_MAX = 500  # fits IncidentRef.report_line (a 200-character name and company, a 256-byte subject)
REPORT = "incident_report"  # a member's "4th report: <customer>, <company>: <subject>" (Slack shows it)
MERGED_INTO = "incident_merged_into"  # on a merged incident's old root: the incident it was folded into


class IncidentConflictError(TmsError):
    """The root ticket joined another incident meanwhile: worth retrying (the next search sees it)."""


def _s(item: dict[str, Any], name: str, default: str = "") -> str:
    return item.get(name, {}).get("S", default)


def _ss(item: dict[str, Any], name: str) -> list[str]:
    return sorted(item.get(name, {}).get("SS", []))


class DynamoIncidentStore:
    """Reads and writes incidents on the ticket items."""

    def __init__(self, table_name: str, client: Any):
        self._table = table_name
        self._client = client

    def _get(self, ticket_id: str) -> dict[str, Any]:
        resp = self._client.get_item(TableName=self._table, Key={KEY: {"S": ticket_id}}, ConsistentRead=True)
        return resp.get("Item") or {}

    def attach(
        self, ticket_id: str, link: IncidentLink, *, company: str, priority: Priority, report: str
    ) -> dict[str, Any]:
        """Record the ticket in its incident; return the summary the Slack post shows (count, companies,
        rolled-up priority, '4th report: ...')."""
        if not link.incident_id or not link.root_ticket_id:
            raise ValueError("attach needs a linked IncidentLink")
        iid, root = link.incident_id, link.root_ticket_id
        merged_from = [self.merge(younger, into=iid) for younger in link.merged_incidents]
        merged_from += [lone for lone in link.joined_tickets if self._join_lone(lone, iid, root)]
        existing = self._get(ticket_id)
        if _s(existing, INCIDENT_ID) == iid and POSITION in existing:  # a retried step: already counted
            return {
                **self.summary(iid, root, ticket_id, int(existing[POSITION]["N"]), report),
                "merged_from": [r for r in merged_from if r],
            }
        values: dict[str, Any] = {
            ":iid": {"S": iid},
            ":me": {"SS": [ticket_id]},
            ":p": {"SS": [priority.value]},
        }
        adds = ["#m :me", "#p :p"]
        if company.strip():
            values[":c"] = {"SS": [company.strip()]}
            adds.append("#c :c")
        if link.opened:
            root_item = self._get(root)
            values[":me"] = {"SS": [ticket_id, root]}
            values[":p"] = {"SS": sorted({priority.value, _s(root_item, "priority", Priority.NORMAL.value)})}
            root_company = _s(root_item, "company").strip()
            if root_company:
                values[":c"] = {"SS": sorted({*values.get(":c", {"SS": []})["SS"], root_company})}
                if "#c :c" not in adds:
                    adds.append("#c :c")
        try:
            resp = self._client.update_item(
                TableName=self._table,
                Key={KEY: {"S": root}},
                UpdateExpression="SET #i = if_not_exists(#i, :iid) ADD " + ", ".join(adds),
                ConditionExpression="attribute_exists(#k) AND (attribute_not_exists(#i) OR #i = :iid)",
                ExpressionAttributeNames={
                    "#k": KEY,
                    "#i": INCIDENT_ID,
                    "#m": MEMBERS,
                    "#p": PRIORITIES,
                    **({"#c": COMPANIES} if "#c :c" in adds else {}),
                },
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
            )
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                raise IncidentConflictError(f"root {root} is not free for incident {iid}") from e
            raise
        root_new = resp["Attributes"]
        position = len(_ss(root_new, MEMBERS))
        line = f"{ordinal(position)} report: {report}"[:REPORT_MAX]
        self._client.update_item(
            TableName=self._table,
            Key={KEY: {"S": ticket_id}},
            UpdateExpression=(
                "SET #i = :iid, #r = :root, #pos = if_not_exists(#pos, :pos), #rep = if_not_exists(#rep, :rep)"
            ),
            ExpressionAttributeNames={"#i": INCIDENT_ID, "#r": ROOT, "#pos": POSITION, "#rep": REPORT},
            ExpressionAttributeValues={
                ":iid": {"S": iid},
                ":root": {"S": root},
                ":pos": {"N": str(position)},
                ":rep": {"S": line},
            },
        )
        if link.opened:
            self._client.update_item(
                TableName=self._table,
                Key={KEY: {"S": root}},
                UpdateExpression="SET #pos = if_not_exists(#pos, :one)",
                ExpressionAttributeNames={"#pos": POSITION},
                ExpressionAttributeValues={":one": {"N": "1"}},
            )
        if link.merged_incidents or link.joined_tickets:
            root_new = self._get(root)  # the aggregate as the merges left it
        return {
            **self._summary_of(root_new, iid, root, ticket_id, position, report),
            "merged_from": [r for r in merged_from if r],
        }

    def merge(self, younger: str, *, into: str) -> str:
        """Fold the incident `younger` into the incident `into` (older); return the younger's root ticket id
        ("" when there was nothing left to fold: a retried step, or an incident already merged into it).

        Crash-safe in this order, each write idempotent: the members, companies and priorities are ADDed to
        the older root's sets; each member is re-pointed only while it still names the younger incident;
        last, the younger root gives up its aggregate and records where it went (so `tms incidents` lists
        one incident, and the bot can point the old thread to the new one). A member the younger incident
        got meanwhile is re-pointed by a retry (IncidentConflictError, ASL Retry).
        """
        if younger == into:
            return ""
        old_root, new_root = root_of(younger), root_of(into)
        item = self._get(old_root)
        if _s(item, INCIDENT_ID) != younger or MEMBERS not in item:
            return ""  # merged already (a retry), or never an incident: nothing to fold
        members = _ss(item, MEMBERS)
        adds, names_, values = (
            ["#m :m"],
            {"#k": KEY, "#i": INCIDENT_ID, "#m": MEMBERS},
            {
                ":m": {"SS": members},
                ":iid": {"S": into},
            },
        )
        for attr, key, name in ((COMPANIES, ":c", "#c"), (PRIORITIES, ":p", "#p")):
            if _ss(item, attr):
                adds.append(f"{name} {key}")
                names_[name], values[key] = attr, {"SS": _ss(item, attr)}
        try:
            self._client.update_item(
                TableName=self._table,
                Key={KEY: {"S": new_root}},
                UpdateExpression="ADD " + ", ".join(adds),
                ConditionExpression="attribute_exists(#k) AND #i = :iid",
                ExpressionAttributeNames=names_,
                ExpressionAttributeValues=values,
            )
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                raise IncidentConflictError(f"incident {into} is not at its root {new_root}") from e
            raise
        for member in members:
            try:
                self._client.update_item(
                    TableName=self._table,
                    Key={KEY: {"S": member}},
                    UpdateExpression="SET #i = :into, #r = :root",
                    ConditionExpression="#i = :younger",
                    ExpressionAttributeNames={"#i": INCIDENT_ID, "#r": ROOT},
                    ExpressionAttributeValues={
                        ":into": {"S": into},
                        ":root": {"S": new_root},
                        ":younger": {"S": younger},
                    },
                )
            except ClientError as e:
                if e.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                    raise
                # Split off ("Not the same issue") or re-pointed by a retry meanwhile: leave it as it is.
        try:
            self._client.update_item(
                TableName=self._table,
                Key={KEY: {"S": old_root}},
                UpdateExpression="SET #mi = :into, #rep = :rep REMOVE #m, #c, #p",
                ConditionExpression="attribute_exists(#m) AND #i = :into",
                ExpressionAttributeNames={
                    "#i": INCIDENT_ID,
                    "#mi": MERGED_INTO,
                    "#rep": REPORT,
                    "#m": MEMBERS,
                    "#c": COMPANIES,
                    "#p": PRIORITIES,
                },
                ExpressionAttributeValues={
                    ":into": {"S": into},
                    ":rep": {"S": f"first report of {younger}, merged into {into}"[:REPORT_MAX]},
                },
            )
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                raise IncidentConflictError(f"incident {younger} changed while merging into {into}") from e
            raise
        return old_root

    def _join_lone(self, ticket_id: str, iid: str, root: str) -> bool:
        """A lone open ticket the link joined to this incident: recorded as a member like a new report.
        False when it is gone or joined an incident meanwhile (then it stays where it is)."""
        item = self._get(ticket_id)
        if not item or _s(item, INCIDENT_ID):
            return False
        priority = Priority(_s(item, "priority", Priority.NORMAL.value))
        name, company = _s(item, "customer_full_name"), _s(item, "company")
        who = f"{name}, {company}" if company.strip() else name
        link = IncidentLink(iid, root, matched_ticket_id=ticket_id)
        self.attach(
            ticket_id, link, company=company, priority=priority, report=f"{who}: {_s(item, 'subject')}"
        )
        return True

    def _summary_of(
        self, root_item: dict[str, Any], iid: str, root: str, ticket_id: str, position: int, report: str
    ) -> dict[str, Any]:
        return {
            "incident_id": iid,
            "root_ticket_id": root,
            "position": position,
            "count": len(_ss(root_item, MEMBERS)),
            "companies": _ss(root_item, COMPANIES),
            "priority": rolled_up_priority(_ss(root_item, PRIORITIES)).value,
            "report_line": f"{ordinal(position)} report: {report}"[:REPORT_MAX],
        }

    def summary(self, iid: str, root: str, ticket_id: str, position: int, report: str) -> dict[str, Any]:
        """The current summary of an incident, for a ticket at `position`."""
        return self._summary_of(self._get(root), iid, root, ticket_id, position, report)

    def incident(self, incident_id: str, root_ticket_id: str) -> Incident:
        """The incident with its members as the table has them now."""
        root = self._get(root_ticket_id)
        ids = _ss(root, MEMBERS)
        items: list[dict[str, Any]] = []
        for start in range(0, len(ids), 100):
            resp = self._client.batch_get_item(
                RequestItems={self._table: {"Keys": [{KEY: {"S": t}} for t in ids[start : start + 100]]}}
            )
            items.extend(resp.get("Responses", {}).get(self._table, []))
        members = [
            Member(
                ticket_id=_s(i, KEY),
                submitted_at=datetime.fromisoformat(_s(i, "submitted_at").replace("Z", "+00:00")),
                customer=_s(i, "customer_full_name"),
                company=_s(i, "company"),
                subject=_s(i, "subject"),
                product=_s(i, "product"),
                priority=Priority(_s(i, "priority", Priority.NORMAL.value)),
                status=_s(i, "status", TicketStatus.TRIAGED.value),
            )
            for i in items
            if _s(i, INCIDENT_ID) == incident_id
        ]
        return Incident.of(incident_id, members)

    def open_incidents(self) -> list[Incident]:
        """Every incident with a member not yet RESOLVED (a scan of the roots: an operator command)."""
        roots: list[tuple[str, str]] = []
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "FilterExpression": "attribute_exists(#m)",
            "ProjectionExpression": "#k, #i",
            "ExpressionAttributeNames": {"#m": MEMBERS, "#k": KEY, "#i": INCIDENT_ID},
        }
        while True:
            page = self._client.scan(**kwargs)
            roots.extend((_s(i, INCIDENT_ID), _s(i, KEY)) for i in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        incidents = [self.incident(iid, root) for iid, root in roots if iid]
        return [i for i in incidents if i.members and not i.resolved]
