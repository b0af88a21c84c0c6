"""The link score's signals, one by one, and their combination into one explainable score."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from pipeline.domain.incident_signals import (
    FEATURES,
    LinkModel,
    Profile,
    extract_signals,
    group_features,
    pair_features,
    symptom_classes,
)

T0 = datetime(2026, 12, 4, 14, 40, tzinfo=UTC)


# --- Error codes ------------------------------------------------------------------------------------------


def test_service_error_codes_are_found_in_a_pasted_stack_trace_without_their_exception_suffix() -> None:
    text = (
        "botocore.exceptions.ClientError: An error occurred (ThrottlingException) when calling the "
        "PutRecords operation; later KMSInternalException and CannotPullContainerError"
    )
    signals = extract_signals(text)
    assert {"code:throttling", "code:kmsinternal", "code:cannotpullcontainererror"} <= signals
    # botocore's wrapper is not a symptom: every AWS error arrives in one
    assert "code:clienterror" not in signals


def test_bare_codes_and_their_spelled_out_forms_are_one_signal() -> None:
    assert "code:slowdown" in extract_signals("An error occurred (SlowDown) when calling PutObject")
    assert "code:slowdown" in extract_signals("getting 503 Slow Down on every upload")
    assert "code:accessdenied" in extract_signals("AccessDenied when reading the object")
    assert "code:accessdenied" in extract_signals("we get access denied since this morning")
    assert "code:servfail" in extract_signals("dig returns SERVFAIL for the zone")


def test_an_s3_slowdown_counts_as_a_503_even_when_the_number_is_not_written() -> None:
    assert "status:503" in extract_signals("uploads fail with SlowDown")


def test_generic_words_and_the_customers_own_exception_classes_are_not_codes() -> None:
    signals = extract_signals("Error: TypeError in our handler, an Exception was raised")
    assert not {s for s in signals if s.startswith("code:")}


# --- HTTP status codes ------------------------------------------------------------------------------------


def test_http_status_codes_are_found_as_numbers_and_as_their_phrases() -> None:
    assert "status:503" in extract_signals("PUT returns HTTP 503")
    assert "status:502" in extract_signals("CloudFront shows Bad Gateway")
    assert "status:429" in extract_signals("Too Many Requests from the API")
    assert "status:504" in extract_signals("API Gateway answers Gateway Timeout")


def test_numbers_that_are_not_statuses_are_not_taken_for_one() -> None:
    signals = extract_signals(
        "about 500 users, 404 ms latency, 40 PUT/s, version 1.503, order 5031, at 10:500"
    )
    assert not {s for s in signals if s.startswith("status:")}


# --- Regions ---------------------------------------------------------------------------------------------


def test_region_codes_and_region_names_in_several_languages_map_to_one_region() -> None:
    assert "region:eu-west-1" in extract_signals("our bucket in EU-WEST-1 fails")
    assert "region:eu-west-1" in extract_signals("S3 in Ireland is down")
    assert "region:eu-west-1" in extract_signals("sauvegardes vers S3 (région Irlande)")
    assert "region:eu-west-1" in extract_signals("só no bucket da Irlanda")
    assert "region:us-east-1" in extract_signals("N. Virginia only")
    assert "region:ap-northeast-1" in extract_signals("東京 aka Tokyo region")


def test_a_word_that_contains_a_region_name_is_not_a_region() -> None:
    assert not extract_signals("the parish council's Parisienne bakery")


# --- Runtime messages ------------------------------------------------------------------------------------


def test_a_lambda_timeout_is_one_signal_whatever_the_customers_configured_seconds() -> None:
    a = extract_signals("Task timed out after 30.00 seconds")
    b = extract_signals("2026-12-04 Task timed out after 900.03 seconds")
    assert "msg:task-timed-out" in a & b


def test_a_double_charge_is_recognised_in_different_words() -> None:
    assert "msg:double-charge" in extract_signals("We were charged twice this month")
    assert "msg:double-charge" in extract_signals("a duplicate charge on the card")


# --- Customer-own names are never signals ----------------------------------------------------------------


def test_customer_resource_names_and_account_ids_are_not_extracted() -> None:
    signals = extract_signals(
        "bucket brightlane-scans-prod, function arn:aws:lambda:eu-west-1:123456789012:function:ingest, "
        "instance i-0abc123def4567890, host db.internal.acme.example"
    )
    assert signals == frozenset({"region:eu-west-1"})  # the region in the ARN is the service's, not theirs


# --- Symptom classes -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "symptom"),
    [
        ("the request hangs and then times out", "timeout"),
        # words that end a pattern (a raw-string "\\b" once made these three match nothing)
        ("grosse panne sur le service depuis une heure", "unavailable"),
        ("le tableau de bord est vide depuis la mise à jour", "no_data"),
        ("o painel ficou vazio depois do deploy", "no_data"),
        ("Zeitüberschreitung beim Hochladen der Dateien", "timeout"),
        ("le service ne répond plus depuis ce matin", "timeout"),
        ("se agota el tiempo de espera al invocar", "timeout"),
        ("a chamada expirou depois de 30 segundos", "timeout"),
        ("we are being throttled although traffic is flat", "throttling"),
        ("seit heute werden wir gedrosselt", "throttling"),
        ("trop de requêtes, on reçoit des erreurs", "throttling"),
        ("demasiadas solicitudes desde las 10", "throttling"),
        ("the API is unavailable for all our users", "unavailable"),
        ("Störung: Dienst nicht erreichbar", "unavailable"),
        ("le site est indisponible", "unavailable"),
        ("la aplicación está caída", "unavailable"),
        ("o sistema está fora do ar", "unavailable"),
        ("Zugriff verweigert beim Lesen", "access_denied"),
        ("accès refusé sur le bucket", "access_denied"),
        ("acceso denegado al rol", "access_denied"),
        ("acesso negado ao objeto", "access_denied"),
        ("the dashboard shows no data since the update", "no_data"),
        ("Diagramme leer nach dem Update", "no_data"),
        ("aucune donnée dans les graphiques", "no_data"),
        ("los gráficos están vacíos", "no_data"),
        ("painel sem dados desde ontem", "no_data"),
        ("queries are painfully slow today", "latency"),
        ("die Antwortzeiten sind sehr langsam", "latency"),
        ("a consulta está muito lenta", "latency"),
        ("we were charged twice for the same invoice", "duplicate_charge"),
        ("uns wurde doppelt abgebucht", "duplicate_charge"),
        ("nous avons été facturé deux fois", "duplicate_charge"),
        ("hay un cargo duplicado en la tarjeta", "duplicate_charge"),
        ("fui cobrado duas vezes", "duplicate_charge"),
        ("staff can't log in to the portal", "login_failure"),
        ("no puedo iniciar sesión desde ayer", "login_failure"),
        ("the SMS codes are never received", "not_delivered"),
        ("die E-Mails kommen nicht an", "not_delivered"),
        ("os códigos não chegam", "not_delivered"),
        ("dig returns NXDOMAIN for our zone", "dns_resolution"),
        ("connection refused on port 5432", "connection_failure"),
        ("the pods keep restarting", "restart_loop"),
        ("InsufficientInstanceCapacity when launching", "capacity"),
    ],
)
def test_a_symptom_is_recognised_in_the_words_and_languages_customers_use(text: str, symptom: str) -> None:
    assert symptom in symptom_classes(text)
    assert f"symptom:{symptom}" in extract_signals(text)


def test_unrelated_words_are_no_symptom_and_a_word_that_only_contains_one_is_not_either() -> None:
    assert symptom_classes("How do I add a second user to our account? Thanks!") == frozenset()
    # "video" contains "vide", "slowly" is still slow, "Downloads" is not "down"
    assert "no_data" not in symptom_classes("the video player")
    assert "unavailable" not in symptom_classes("Downloads of the report")


# --- Pair features ---------------------------------------------------------------------------------------


def _p(
    product: str = "Amazon S3", issue: str = "Access Permissions", signals: str = "", minutes: int = 0
) -> Profile:
    return Profile(
        product, issue, "Acme", frozenset(s for s in signals.split() if s), T0 + timedelta(minutes=minutes)
    )


def test_pair_features_say_what_two_reports_share() -> None:
    a = _p(signals="code:slowdown status:503 region:eu-west-1 msg:timeout symptom:throttling", minutes=0)
    b = _p(signals="code:slowdown status:503 region:eu-west-1 msg:timeout symptom:throttling", minutes=9)
    f = pair_features(a, b, cosine=0.55, reporters=3)
    assert f == {
        "cosine": 0.55,
        "cosine_top3": 0.55,
        "same_product": 1.0,
        "same_issue_type": 1.0,
        "log_minutes": pytest.approx(math.log(10)),
        "within_hour": 1.0,
        "burst_cosine": 0.55,
        "burst_top3": 0.55,
        "shared_codes": 2.0,  # the code and the runtime message
        "shared_status": 1.0,
        "shared_region": 1.0,
        "region_conflict": 0.0,
        "shared_symptom": 1.0,
        "symptom_conflict": 0.0,
        "log_reporters": pytest.approx(math.log(3)),  # the incident's 3 companies (one is this candidate's)
    }
    assert list(f) == list(FEATURES)


def test_an_incident_is_scored_as_a_whole_on_what_its_members_name_together() -> None:
    # Given an incident whose members each name only part of the outage (one the region, one the status)
    new = _p(signals="status:503 region:eu-west-1 symptom:unavailable", minutes=20)
    region_only = Profile("Amazon S3", "Access Permissions", "Globex", frozenset({"region:eu-west-1"}), T0)
    status_only = Profile(
        "Amazon S3", "Bucket Policy", "Initech", frozenset({"status:503", "symptom:unavailable"}), T0
    )
    # When the new report is compared with the incident rather than with its nearest member
    f = group_features(new, [(region_only, 0.62), (status_only, 0.48), (region_only, 0.40)])
    # Then it shares the region, the status and the symptom with the incident, the cosines are the best and
    # the mean of the best three, issue types are a share, and two distinct companies report it
    assert (f["shared_region"], f["shared_status"], f["shared_symptom"]) == (1.0, 1.0, 1.0)
    assert f["cosine"] == 0.62 and f["cosine_top3"] == pytest.approx((0.62 + 0.48 + 0.40) / 3)
    assert f["same_issue_type"] == pytest.approx(2 / 3)
    assert f["log_reporters"] == pytest.approx(math.log(2))
    # and a nearest-member comparison would have seen the region only
    single = pair_features(new, region_only, cosine=0.62)
    assert (single["shared_status"], single["shared_symptom"], single["log_reporters"]) == (0.0, 0.0, 0.0)


def test_alike_words_count_as_a_burst_only_within_the_hour() -> None:
    near, far = _p(minutes=50), _p(minutes=61)
    assert pair_features(_p(), near, cosine=0.7)["burst_cosine"] == 0.7
    assert pair_features(_p(), near, cosine=0.7)["within_hour"] == 1.0
    assert pair_features(_p(), far, cosine=0.7)["burst_cosine"] == 0.0
    assert pair_features(_p(), far, cosine=0.7)["within_hour"] == 0.0
    assert pair_features(Profile(), far, cosine=0.7)["within_hour"] == 0.0  # no time: no burst


def test_a_group_needs_a_member() -> None:
    with pytest.raises(ValueError, match="at least one member"):
        group_features(_p(), [])


def test_two_different_regions_are_a_conflict_and_a_missing_region_is_not() -> None:
    east, west = _p(signals="region:us-east-1"), _p(signals="region:eu-west-1")
    assert pair_features(east, west, cosine=0.8)["region_conflict"] == 1.0
    assert pair_features(east, _p(), cosine=0.8)["region_conflict"] == 0.0


def test_product_and_issue_type_compare_without_case_or_spaces_and_unknown_never_matches() -> None:
    assert pair_features(_p("amazon s3 "), _p("Amazon S3"), cosine=0.5)["same_product"] == 1.0
    assert pair_features(_p(""), _p(""), cosine=0.5)["same_product"] == 0.0
    assert pair_features(_p(issue="Billing"), _p(), cosine=0.5)["same_issue_type"] == 0.0


def test_minutes_apart_without_a_time_counts_as_none() -> None:
    assert pair_features(Profile(), _p(), cosine=0.5)["log_minutes"] == 0.0


# --- The combination -------------------------------------------------------------------------------------

MODEL = LinkModel(
    weights={
        **dict.fromkeys(FEATURES, 0.0),
        "cosine": 3.0,
        "same_product": 3.0,
        "same_issue_type": 1.5,
        "log_minutes": -2.0,
        "shared_codes": 0.5,
        "shared_status": 1.3,
        "shared_region": 2.3,
        "region_conflict": -1.5,
        "log_reporters": 2.0,
    },
    bias=-2.0,
    threshold=0.9,
)


def test_reports_of_one_outage_in_different_words_link_where_the_cosine_alone_would_not() -> None:
    # Given two reports, minutes apart, same product, same code, status and region, cosine only 0.5
    a = _p(signals="code:slowdown status:503 region:eu-west-1")
    b = _p(signals="code:slowdown status:503 region:eu-west-1", minutes=6)
    # Then the combined score links them, and each signal's share of it can be read
    features = pair_features(a, b, cosine=0.5)
    assert MODEL.score(features) >= MODEL.threshold
    parts = dict(MODEL.explain(features))
    assert parts["shared_region"] == pytest.approx(2.3) and parts["log_minutes"] < 0


def test_same_product_and_alike_words_but_hours_apart_and_another_region_stay_apart() -> None:
    a = _p(signals="code:accessdenied region:us-east-1")
    b = _p(signals="code:accessdenied region:eu-central-1", minutes=600)
    assert MODEL.score(pair_features(a, b, cosine=0.8)) < MODEL.threshold


def test_many_companies_already_reporting_an_incident_pull_a_borderline_report_in() -> None:
    a, b = _p(signals="region:eu-west-1"), _p(signals="region:eu-west-1", minutes=20)
    alone = MODEL.score(pair_features(a, b, cosine=0.3, reporters=0))
    crowded = MODEL.score(pair_features(a, b, cosine=0.3, reporters=6))
    assert alone < MODEL.threshold <= crowded


def test_a_link_model_with_a_missing_or_unknown_weight_or_a_bad_threshold_is_refused() -> None:
    good = {"weights": dict(MODEL.weights), "bias": -2.0, "threshold": 0.9}
    assert LinkModel.from_data(good) == MODEL
    assert LinkModel.from_data(MODEL.as_data()) == MODEL
    with pytest.raises(ValueError, match="merge_threshold must be between 0 and 1"):
        LinkModel.from_data({**good, "merge_threshold": 0.0})
    with pytest.raises(ValueError, match="missing \\['shared_region'\\]"):
        LinkModel.from_data(
            {**good, "weights": {k: v for k, v in MODEL.weights.items() if k != "shared_region"}}
        )
    with pytest.raises(ValueError, match="unknown \\['customer_bucket'\\]"):
        LinkModel.from_data({**good, "weights": {**MODEL.weights, "customer_bucket": 1.0}})
    with pytest.raises(ValueError, match="between 0 and 1"):
        LinkModel.from_data({**good, "threshold": 1.5})
