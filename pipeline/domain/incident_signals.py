"""What besides the text's meaning tells that two tickets report one incident: the combined link score.

Reports of one outage are written by different people in different words (issue 29: the embedding's cosine
between five reports of one S3 outage was 0.50-0.73), but they share what the SERVICE shows them: its error
codes (`SlowDown`, `ThrottlingException`), HTTP status codes, the region, a runtime's message
(`Task timed out after 30.00 seconds`), the product, and the minutes they arrive in. What they do NOT share
are the customers' own resource names (buckets, functions, account ids): every customer has their own, so
they are never extracted here.

The link score is a logistic model over a handful of such features of a (new ticket, candidate GROUP) pair,
the group being an open incident as a whole or a lone ticket: a probability-like number in 0..1 whose few
weights are fitted on the calibration half of the hand-written set (tools/incident_eval.py `fit_weights`),
its thresholds chosen by cross-validation inside that half (`cross_validate`), all kept as data per
embedding model in contract/defaults.py (the models' cosines are on different scales).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

# The order of the features: the weights in contract/defaults.py are named after these. A new ticket is scored
# against a CANDIDATE GROUP, an open incident as a whole (its members in the window) or a lone open ticket,
# not against its single nearest member: a large incident's members together name more of what the
# service shows (codes, statuses, regions, symptoms) than any one of them, and its companies say "outage".
FEATURES: tuple[str, ...] = (
    "cosine",  # the best cosine similarity to a member
    "cosine_top3",  # the mean cosine of the (up to) three nearest members: one look-alike is not a crowd
    "same_product",  # share of the members with the same product
    "same_issue_type",  # share of the members with the same issue type
    "log_minutes",  # ln(1 + minutes to the nearest member in time)
    "within_hour",  # 1 when a member arrived within the hour: an outage's reports come in a burst
    "burst_cosine",  # the cosine when within the hour, else 0: alike words count most within a burst
    "burst_top3",  # cosine_top3 when within the hour, else 0
    "shared_codes",  # error codes / runtime messages the ticket shares with any member (count, at most 3)
    "shared_status",  # 1 when the ticket names an HTTP status (or its phrase) a member names
    "shared_region",  # 1 when the ticket names a region a member names
    "region_conflict",  # 1 when both name regions and none is common: two places, two problems
    "shared_symptom",  # 1 when the ticket and a member describe one symptom class (any language)
    "symptom_conflict",  # 1 when both describe symptoms and no class is common
    "log_reporters",  # ln(distinct companies in the group) x share of same-product members
)


# --- Signals ---------------------------------------------------------------------------------------------

# CamelCase service error codes: ThrottlingException, CannotPullContainerError, KMSInternalException...
_CODE = re.compile(r"\b([A-Z][A-Za-z]*?[a-z][A-Za-z]*?(?:Exception|Error|Fault))\b")
# Codes that are bare words, service by service (S3's and STS's, DNS response codes, Node's errno names).
_BARE_CODES = {
    "slowdown": "slowdown",
    "slow down": "slowdown",
    "accessdenied": "accessdenied",
    "access denied": "accessdenied",
    "throttling": "throttling",
    "throttled": "throttling",
    "rate exceeded": "throttling",
    "servfail": "servfail",
    "nxdomain": "nxdomain",
    "etimedout": "etimedout",
    "econnrefused": "econnrefused",
    "econnreset": "econnreset",
    "expiredtoken": "expiredtoken",
    "insufficientcapacity": "insufficientcapacity",
    "insufficient capacity": "insufficientcapacity",
}
_BARE = re.compile(r"\b(" + "|".join(re.escape(k) for k in _BARE_CODES) + r")\b", re.IGNORECASE)
# Runtime messages that name the symptom whatever the customer's own numbers in them.
_MESSAGES = (
    (re.compile(r"task timed out after", re.IGNORECASE), "msg:task-timed-out"),
    (re.compile(r"\btimed?[ -]?out\b|\btimeouts?\b", re.IGNORECASE), "msg:timeout"),
    (re.compile(r"certificate (?:has )?expired|cert(?:ificate)? expired|expired cert", re.IGNORECASE), "msg:cert-expired"),
    (re.compile(r"charged twice|double[- ]charged?|duplicate (?:charge|payment)|billed twice", re.IGNORECASE), "msg:double-charge"),
)  # fmt: skip
# A generic word is not a code: "Error" alone, "TypeError" of the customer's own code.
# botocore's ClientError wraps every service error: the code inside it is the signal, not the wrapper.
_NOT_CODES = frozenset(
    {"error", "exception", "fault", "clienterror", "typeerror", "valueerror", "keyerror", "runtimeerror"}
)

_STATUS = re.compile(
    r"(?<![\d.:/-])(4(?:00|01|03|04|08|09|13|29)|5(?:00|02|03|04))(?![\d.:/-])"
    r"(?!\s*(?:ms|s\b|sec|seconds|minutes|mb|gb|kb|%|users|tickets|records|rows|items|times|put|get|/s|eur|usd))",
    re.IGNORECASE,
)
# The phrases of the common statuses: "service unavailable" is a 503 whether or not the number is written.
_STATUS_PHRASES = (
    (re.compile(r"service unavailable", re.IGNORECASE), "503"),
    (re.compile(r"bad gateway", re.IGNORECASE), "502"),
    (re.compile(r"gateway time-?out", re.IGNORECASE), "504"),
    (re.compile(r"internal server error", re.IGNORECASE), "500"),
    (re.compile(r"too many requests", re.IGNORECASE), "429"),
    (re.compile(r"\bforbidden\b", re.IGNORECASE), "403"),
    (re.compile(r"\bunauthori[sz]ed\b", re.IGNORECASE), "401"),
)

_REGION = re.compile(
    r"\b((?:us|eu|ap|sa|ca|me|af|il|mx)-(?:north|south|east|west|central|northeast|southeast|northwest|southwest)-\d)\b",
    re.IGNORECASE,
)
# Regions as people name them, in the languages our customers write in (the console shows the city).
_REGION_NAMES = (
    (r"n(?:orth(?:ern)?|\.)?\s*virginia", "us-east-1"),
    (r"ohio", "us-east-2"),
    (r"oregon", "us-west-2"),
    (r"n(?:orth(?:ern)?|\.)?\s*california", "us-west-1"),
    (r"ireland|irland[ae]?|irlanda|dublin", "eu-west-1"),
    (r"london|londres", "eu-west-2"),
    (r"paris", "eu-west-3"),
    (r"frankfurt|francfort", "eu-central-1"),
    (r"stockholm", "eu-north-1"),
    (r"milan|milano", "eu-south-1"),
    (r"tokyo|tokio", "ap-northeast-1"),
    (r"seoul", "ap-northeast-2"),
    (r"singapore|singapur", "ap-southeast-1"),
    (r"sydney", "ap-southeast-2"),
    (r"mumbai", "ap-south-1"),
    (r"s[aã]o paulo", "sa-east-1"),
    (r"canada central|montr[eé]al", "ca-central-1"),
)
_REGION_NAME = [(re.compile(r"\b(?:" + p + r")\b", re.IGNORECASE), r) for p, r in _REGION_NAMES]


# Canonical symptom classes, as customers describe them in English, German, French, Spanish and Portuguese.
# Written from domain knowledge (how AWS failures read in tickets and console messages), NOT from the
# evaluation set: reports of one outage that name no code or region still describe one symptom ("the upload
# hangs and times out", "Zeitüberschreitung beim Hochladen"). Lower-case patterns; matched on word starts.
SYMPTOMS: dict[str, tuple[str, ...]] = {
    "timeout": (
        r"time[ds]?[ -]?out", r"timing out", r"timeouts?", r"hangs?\b", r"hanging", r"never (?:returns|completes)",
        r"zeitüberschreitung", r"zeit[uü]berschreitung", r"läuft (?:in einen )?timeout", r"hängt",
        r"délai (?:d'attente )?(?:dépassé|expiré)", r"expir(?:e|é) le délai", r"ne répond (?:pas|plus)",
        r"tiempo de espera", r"se agota el tiempo", r"no responde", r"tempo limite", r"tempo esgotado",
        r"não responde", r"expirou",
    ),
    "throttling": (
        r"throttl", r"rate[- ]?limit", r"rate exceeded", r"too many requests", r"slow ?down", r"request limit",
        r"drosselung", r"gedrosselt", r"anfragelimit", r"zu viele anfragen",
        r"limitation de (?:débit|requêtes)", r"trop de requêtes", r"limite de (?:débit|requêtes)",
        r"demasiadas solicitudes", r"límite de (?:solicitudes|velocidad)", r"limitación",
        r"muitas requisições", r"limite de (?:requisições|taxa)", r"estrangulad",
    ),
    "unavailable": (
        r"service unavailable", r"unavailable", r"internal (?:server )?error", r"bad gateway", r"\b50[0234]\b",
        r"outage", r"is down\b", r"went down", r"5xx",
        r"nicht verfügbar", r"nicht erreichbar", r"ausfall", r"interner (?:server)?fehler", r"störung",
        r"indisponible", r"erreur (?:interne|serveur)", r"pannes?\b",
        r"no disponible", r"no está disponible", r"error interno", r"caíd[oa]", r"interrupción",
        r"indisponível", r"fora do ar", r"erro interno", r"interrupção",
    ),
    "access_denied": (
        r"access ?denied", r"permission denied", r"forbidden", r"not authori[sz]ed", r"unauthori[sz]ed",
        r"\b40[13]\b", r"insufficient permissions",
        r"zugriff verweigert", r"keine berechtigung", r"nicht berechtigt", r"verboten",
        r"accès refusé", r"permission refusée", r"non autorisé", r"interdit",
        r"acceso denegado", r"permiso denegado", r"no autorizado", r"prohibido",
        r"acesso negado", r"permissão negada", r"não autorizado", r"proibido",
    ),
    "no_data": (
        r"no data", r"missing data", r"data (?:is )?missing", r"shows? nothing", r"empty (?:dashboard|chart|graph|result)",
        r"blank\b", r"no (?:graphs|charts|values|results|logs|records)\b", r"\bnan\b", r"insufficient[_ ]data", r"not showing", r"no metrics",
        r"keine daten", r"daten fehlen", r"fehlende daten", r"leer(?:e|es|en)?\b",
        r"aucune donnée", r"pas de données", r"données manquantes", r"vide\b",
        r"sin datos", r"no hay datos", r"datos faltantes", r"vac[ií]o",
        r"sem dados", r"dados ausentes", r"não há dados", r"vazio\b",
    ),
    "latency": (
        r"slow(?:ness|er)?\b", r"latency", r"lag(?:gy|ging)?\b", r"takes? (?:forever|ages|minutes)", r"sluggish",
        r"langsam", r"latenz", r"verzögerung", r"dauert ewig",
        r"lent(?:e|eur)?\b", r"latence", r"très long",
        r"lent[oa]s?\b", r"lentitud", r"latencia", r"demora",
        r"lentid[aã]o", r"latência", r"demorad[oa]",
    ),
    "duplicate_charge": (
        r"charged twice", r"double[- ]?charged?", r"billed twice", r"duplicate (?:charge|payment|invoice)",
        r"charged two times", r"two charges",
        r"doppelt (?:berechnet|abgebucht|belastet)", r"doppelte (?:abbuchung|belastung|rechnung)",
        r"facturé deux fois", r"débité deux fois", r"double (?:facturation|prélèvement|débit)",
        r"cobrado dos veces", r"cargo duplicado", r"doble cargo", r"cobro duplicado",
        r"cobrado duas vezes", r"cobrança duplicada", r"cobrança em dobro",
    ),
    "login_failure": (
        r"can'?not (?:log|sign) ?in", r"can'?t (?:log|sign) ?in", r"unable to (?:log|sign) ?in", r"login fail",
        r"sign[- ]?in fail", r"log[- ]?in (?:is )?(?:broken|failing)", r"authentication fail",
        r"anmeldung (?:schlägt fehl|fehlgeschlagen)", r"kann mich nicht anmelden", r"login fehlgeschlagen",
        r"connexion impossible", r"impossible de (?:se|me) connecter", r"échec (?:de l'|d')authentification",
        r"no (?:puedo|podemos) iniciar sesión", r"error de autenticación", r"inicio de sesión fall",
        r"não consigo (?:entrar|fazer login)", r"falha (?:no login|de autenticação|na autenticação)",
    ),
    "not_delivered": (
        r"not (?:being )?delivered", r"not (?:being )?received", r"never (?:arrive|arrives|arrived|received)",
        r"(?:didn'?t|don'?t|doesn'?t) (?:arrive|get delivered|receive)", r"undelivered", r"no (?:sms|e-?mails?|notifications?) (?:arrive|received)",
        r"nicht zugestellt", r"kommen? nicht an", r"nicht empfangen",
        r"non (?:reçu|livré|distribué)", r"pas reçu", r"n'arrivent? pas",
        r"no (?:llegan?|recibimos|se entregan?)", r"no recibid",
        r"não (?:chegam?|recebemos|entregue)", r"não recebid",
    ),
    "dns_resolution": (
        r"nxdomain", r"servfail", r"dns (?:resolution|lookup|query|queries)", r"(?:does not|doesn'?t|won'?t|not) resolv",
        r"name resolution", r"löst nicht auf", r"namensauflösung", r"résolution (?:dns|de nom)",
        r"ne (?:se )?résout pas", r"resolución (?:dns|de nombres)", r"no resuelve", r"resolução (?:dns|de nomes)",
        r"não resolve",
    ),
    "connection_failure": (
        r"connection (?:refused|reset|failed|closed|dropped|timed)", r"can'?not connect", r"can'?t connect",
        r"unable to connect", r"unreachable", r"econnrefused", r"econnreset", r"lost connection",
        r"verbindung (?:abgelehnt|fehlgeschlagen|getrennt|unterbrochen)", r"keine verbindung",
        r"connexion (?:refusée|échouée|perdue|interrompue)", r"impossible de se connecter",
        r"conexión (?:rechazada|fallida|perdida)", r"no (?:puedo|podemos) conectar",
        r"conexão (?:recusada|falhou|perdida)", r"não (?:consigo|conseguimos) conectar",
    ),
    "certificate": (
        r"certificate", r"\bssl\b", r"\btls\b", r"handshake", r"zertifikat", r"certificat", r"certificado",
    ),
    "scaling": (
        r"(?:not|never|won'?t|doesn'?t|does not) scal(?:e|ing)", r"auto ?scaling", r"scale[- ]?(?:out|up|in|down)",
        r"skaliert nicht", r"skalierung", r"mise à l'échelle", r"ne scale pas", r"no escala", r"escalado",
        r"escalamiento", r"não escala", r"escalonamento",
    ),
    "deploy_failure": (
        r"deploy(?:ment)?s? (?:fail|stuck|hang)", r"rollout", r"roll(?:ed)? back", r"rollback",
        r"cannotpullcontainer", r"image pull", r"bereitstellung (?:fehlgeschlagen|hängt)",
        r"deployment fehlgeschlagen", r"déploiement (?:échoué|bloqué|en échec)",
        r"despliegue (?:fallido|atascado)", r"implantação (?:falhou|travada)", r"implementação falhou",
    ),
    "restart_loop": (
        r"keeps? restarting", r"restart(?:ing)? loop", r"crash ?loop", r"crashloopbackoff", r"keeps? crashing",
        r"startet (?:ständig|immer wieder) neu", r"redémarre en boucle", r"redémarre sans cesse",
        r"se reinicia", r"reinicia constantemente", r"reinicia sem parar", r"fica reiniciando",
    ),
    "capacity": (
        r"insufficient ?(?:instance ?)?capacity", r"out of capacity", r"no capacity", r"capacity (?:error|issue)",
        r"kapazität", r"capacité insuffisante", r"capacidad insuficiente", r"capacidade insuficiente",
    ),
}  # fmt: skip
_SYMPTOM = [(re.compile(r"(?<!\w)(?:" + "|".join(ps) + r")", re.IGNORECASE), c) for c, ps in SYMPTOMS.items()]


def symptom_classes(text: str) -> frozenset[str]:
    """The canonical symptom classes a text describes, in any of the languages above."""
    return frozenset(c for pattern, c in _SYMPTOM if pattern.search(text))


def extract_signals(text: str) -> frozenset[str]:
    """The service-side symptoms a text names, as `code:`, `status:`, `region:`, `msg:` and `symptom:` tokens.

    Customer-owned names (buckets, functions, hosts, account ids) are deliberately not extracted: reports of
    one incident come from different customers, so those never match across them.
    """
    found: set[str] = set()
    for m in _CODE.finditer(text):
        code = m.group(1).lower().removesuffix("exception")
        if m.group(1).lower() not in _NOT_CODES and len(code) > 3:
            found.add("code:" + code)
    for m in _BARE.finditer(text):
        found.add("code:" + _BARE_CODES[m.group(1).lower()])
    for pattern, token in _MESSAGES:
        if pattern.search(text):
            found.add(token)
    for m in _STATUS.finditer(text):
        found.add("status:" + m.group(1))
    for pattern, status in _STATUS_PHRASES:
        if pattern.search(text):
            found.add("status:" + status)
    for m in _REGION.finditer(text):
        found.add("region:" + m.group(1).lower())
    for pattern, region in _REGION_NAME:
        if pattern.search(text):
            found.add("region:" + region)
    # "SlowDown" the code and "slow down" the phrase are one signal; an S3 SlowDown is a 503 too.
    if "code:slowdown" in found:
        found.add("status:503")
    found.update("symptom:" + c for c in symptom_classes(text))
    return frozenset(found)


# --- The pair's features and the score -----------------------------------------------------------------


@dataclass(frozen=True)
class Profile:
    """What a ticket contributes to the link score besides its vector (stored beside the vector)."""

    product: str = ""
    issue_type: str = ""
    company: str = ""
    signals: frozenset[str] = frozenset()
    submitted_at: datetime | None = None


def _kind(signals: frozenset[str], prefix: str) -> frozenset[str]:
    return frozenset(s for s in signals if s.startswith(prefix))


BURST_MINUTES = 60.0  # reports of one outage arrive within about this many minutes of another


def _same(a: str, b: str) -> bool:
    return bool(a.strip()) and a.strip().lower() == b.strip().lower()


def group_features(
    new: Profile, members: Sequence[tuple[Profile, float]], *, reporters: int = 0
) -> dict[str, float]:
    """The features of (new ticket, candidate group), named as in FEATURES.

    `members`: the group's members in the window with their cosine to the new ticket (a lone candidate is a
    group of one). `reporters`: distinct companies its incident has according to the store (it may count
    members outside the window); the larger of that and the members' own companies counts. Many companies
    reporting the same thing within minutes is what an outage looks like, but only for a report on the same
    product: a busy incident must not pull in every other product's ticket of its minutes.
    """
    if not members:
        raise ValueError("a candidate group has at least one member")
    cosines = sorted((c for _, c in members), reverse=True)
    top3 = float(sum(cosines[:3]) / len(cosines[:3]))
    minutes = [
        abs((new.submitted_at - m.submitted_at).total_seconds()) / 60.0
        for m, _ in members
        if new.submitted_at is not None and m.submitted_at is not None
    ]
    burst = float(bool(minutes) and min(minutes) <= BURST_MINUTES)
    union: frozenset[str] = frozenset().union(*(m.signals for m, _ in members))
    regions_a, regions_b = _kind(new.signals, "region:"), _kind(union, "region:")
    codes = (_kind(new.signals, "code:") | _kind(new.signals, "msg:")) & (
        _kind(union, "code:") | _kind(union, "msg:")
    )
    symptoms_a, symptoms_b = _kind(new.signals, "symptom:"), _kind(union, "symptom:")
    same_product = sum(_same(new.product, m.product) for m, _ in members) / len(members)
    companies = max(len({m.company.strip().lower() for m, _ in members if m.company.strip()}), reporters)
    return {
        "cosine": float(cosines[0]),
        "cosine_top3": top3,
        "same_product": same_product,
        "same_issue_type": sum(_same(new.issue_type, m.issue_type) for m, _ in members) / len(members),
        "log_minutes": math.log1p(min(minutes)) if minutes else 0.0,
        "within_hour": burst,
        "burst_cosine": float(cosines[0]) * burst,
        "burst_top3": top3 * burst,
        "shared_codes": float(min(len(codes), 3)),
        "shared_status": float(bool(_kind(new.signals, "status:") & _kind(union, "status:"))),
        "shared_region": float(bool(regions_a & regions_b)),
        "region_conflict": float(bool(regions_a) and bool(regions_b) and not regions_a & regions_b),
        "shared_symptom": float(bool(symptoms_a & symptoms_b)),
        "symptom_conflict": float(bool(symptoms_a) and bool(symptoms_b) and not symptoms_a & symptoms_b),
        "log_reporters": math.log(max(companies, 1)) * same_product,
    }


def pair_features(new: Profile, candidate: Profile, *, cosine: float, reporters: int = 0) -> dict[str, float]:
    """The features of one (new ticket, lone candidate) pair: a group of one member."""
    return group_features(new, [(candidate, cosine)], reporters=reporters)


@dataclass(frozen=True)
class LinkModel:
    """A fitted logistic link model: P(same incident) = sigmoid(bias + sum(weight * feature))."""

    weights: Mapping[str, float]
    bias: float
    threshold: float  # join an open incident when its score is at or above this
    # Open a NEW incident with a lone ticket only at or above this (None: `threshold`): a first link has no
    # crowd of members behind it, so it may need more evidence than joining a multi-company incident.
    open_threshold: float | None = None
    # A second candidate group (another incident, a lone ticket) at or above this is MERGED with the best
    # one: the younger incident into the older (None: never merge). Large incidents otherwise stay split
    # into the two or three groups that formed before their reports met.
    merge_threshold: float | None = None
    # A best group scored in [judge_lower, the threshold it needs) may be judged by a second opinion (the
    # reply model reads the texts: pipeline/domain/incidents.py LinkJudge); None: never asked.
    judge_lower: float | None = None

    @classmethod
    def from_data(cls, data: Mapping[str, object]) -> LinkModel:
        """The model from its defaults entry; a clear error when a weight is missing or unknown."""
        weights = data.get("weights")
        if not isinstance(weights, Mapping):
            raise ValueError("an incident link model needs a 'weights' mapping")
        unknown = set(weights) - set(FEATURES)
        missing = set(FEATURES) - set(weights)
        if unknown or missing:
            raise ValueError(f"incident link weights: unknown {sorted(unknown)}, missing {sorted(missing)}")
        thresholds: dict[str, float | None] = {}
        for name in ("threshold", "open_threshold", "merge_threshold", "judge_lower"):
            raw = data.get(name, 0.5 if name == "threshold" else None)
            value = None if raw is None else float(raw)  # type: ignore[arg-type]
            if value is not None and not 0 < value < 1:
                raise ValueError(f"incident link {name} must be between 0 and 1, not {value}")
            thresholds[name] = value
        return cls(
            weights={k: float(v) for k, v in weights.items()},
            bias=float(data.get("bias", 0.0)),  # type: ignore[arg-type]
            threshold=float(thresholds["threshold"] or 0.5),
            open_threshold=thresholds["open_threshold"],
            merge_threshold=thresholds["merge_threshold"],
            judge_lower=thresholds["judge_lower"],
        )

    def as_data(self) -> dict[str, object]:
        """The defaults entry of this model (what `from_data` reads back)."""
        out: dict[str, object] = {
            "weights": dict(self.weights),
            "bias": self.bias,
            "threshold": self.threshold,
        }
        if self.open_threshold is not None:
            out["open_threshold"] = self.open_threshold
        if self.merge_threshold is not None:
            out["merge_threshold"] = self.merge_threshold
        if self.judge_lower is not None:
            out["judge_lower"] = self.judge_lower
        return out

    def score(self, features: Mapping[str, float]) -> float:
        """The probability-like link score of one pair, 0..1."""
        z = self.bias + sum(self.weights[name] * features[name] for name in FEATURES)
        return 1.0 / (1.0 + math.exp(-max(min(z, 60.0), -60.0)))

    def explain(self, features: Mapping[str, float]) -> list[tuple[str, float]]:
        """Each feature's contribution to the logit, largest first (what a reviewer reads)."""
        parts = [(name, self.weights[name] * features[name]) for name in FEATURES]
        return sorted(parts, key=lambda p: -abs(p[1]))
