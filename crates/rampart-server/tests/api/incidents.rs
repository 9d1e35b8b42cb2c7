//! Incidents over real HTTP on both backends: seed 002's `POST /v1/incidents` with its field
//! names and enums (and the 422s naming the field), automated triage (severity, KEV and EPSS
//! of linked vulnerabilities from the test knowledge base, exposed products), dedupe of
//! repeats, the status workflow with its timestamps and MTTA/MTTR, SLA settings, comments and
//! the timeline, assignment by round robin and by tag, and scopes.

use chrono::{DateTime, Duration, Utc};
use rampart_test_support::{backend_tests, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::findings::{cyclonedx, load_knowledge_base, release, upload_and_wait};
use crate::products::{expect_error, json_of, team_id};

async fn report(app: &TestApp, path: &str, body: Value) -> reqwest::Response {
    app.post(path).json(&body).send().await.unwrap()
}

/// Creates an incident on the canonical path and expects a new ticket.
async fn create(app: &TestApp, body: Value) -> Value {
    json_of(
        report(app, "/api/v1/incidents", body).await,
        StatusCode::CREATED,
    )
    .await
}

async fn get(app: &TestApp, path: &str) -> Value {
    json_of(app.get(path).send().await.unwrap(), StatusCode::OK).await
}

async fn set_status(app: &TestApp, id: i64, status: &str) -> reqwest::Response {
    app.post(&format!("/api/v1/incidents/{id}/status"))
        .json(&json!({"status": status}))
        .send()
        .await
        .unwrap()
}

fn time(value: &Value) -> DateTime<Utc> {
    value
        .as_str()
        .unwrap_or_else(|| panic!("not a time: {value}"))
        .parse()
        .unwrap()
}

fn id_of(body: &Value) -> i64 {
    body["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("no id: {body}"))
}

backend_tests! {
    async fn the_seed_path_creates_an_incident_with_seed_fields_and_names_bad_ones(app) {
        let created = json_of(report(&app, "/v1/incidents", json!({
            "title": "Suspicious SSH logins",
            "severity": "high",
            "description": "Brute force from 203.0.113.7 against the bastion",
            "affected_systems": ["10.0.0.5", "web-01", "198.51.100.0/24"],
        })).await, StatusCode::CREATED).await;
        assert_eq!(created["title"], "Suspicious SSH logins");
        assert_eq!(created["severity"], "high");
        assert_eq!(created["description"], "Brute force from 203.0.113.7 against the bastion");
        assert_eq!(created["affected_systems"], json!(["10.0.0.5", "web-01", "198.51.100.0/24"]));
        assert_eq!(created["status"], "open");
        assert_eq!(created["priority"], "P2");
        assert_eq!(created["deduplicated"], false);
        assert_eq!(created["occurrences"], 1);
        let kinds: Vec<&str> = created["triage"]["assets"].as_array().unwrap().iter()
            .map(|a| a["kind"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["ip", "unknown", "cidr"], "{created}");
        // The default SLA of P2: acknowledge within 4 hours, resolve within 72.
        let created_at = time(&created["created_at"]);
        assert_eq!(time(&created["sla"]["acknowledge_due_at"]), created_at + Duration::hours(4));
        assert_eq!(time(&created["sla"]["resolve_due_at"]), created_at + Duration::hours(72));
        let id = id_of(&created);
        let seed = get(&app, &format!("/v1/incidents/{id}")).await;
        let canonical = get(&app, &format!("/api/v1/incidents/{id}")).await;
        assert_eq!(seed, canonical, "one body on both paths");
        let mut as_created = created.clone();
        as_created.as_object_mut().unwrap().remove("deduplicated");
        assert_eq!(as_created, canonical);

        // Missing fields and a bad enum: 422 naming the field, on both paths.
        for path in ["/v1/incidents", "/api/v1/incidents"] {
            for (body, field) in [
                (json!({"severity": "low", "description": "d"}), "`title`"),
                (json!({"title": "t", "description": "d"}), "`severity`"),
                (json!({"title": "t", "severity": "low"}), "`description`"),
                (json!({"title": " ", "severity": "low", "description": "d"}), "`title`"),
                (json!({"title": "t", "severity": "urgent", "description": "d"}), "`severity`"),
                (json!({"title": "t", "severity": "low", "description": "d", "affected_systems": ["ok", ""]}), "`affected_systems[1]`"),
                (json!({"title": "t", "severity": "low", "description": "d", "vulnerabilities": ["NOT-A-VULN"]}), "`vulnerabilities[0]`"),
                (json!({"title": "t", "severity": "low", "description": "d", "vulnerabilities": ["CVé-2099-1"]}), "`vulnerabilities[0]`"),
                (json!({"title": "t", "severity": "low", "description": "d", "findings": [999999]}), "`findings[0]`"),
            ] {
                let message = expect_error(report(&app, path, body.clone()).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
                assert!(message.contains(field), "{path} {body}: {message}");
            }
            let message = expect_error(report(&app, path, json!({"title": "t", "severity": "urgent", "description": "d"})).await,
                StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
            assert!(message.contains("low, medium, high, critical"), "{message}");
            // A wrong type or an unknown field: 422 naming it too.
            let message = expect_error(report(&app, path, json!({"title": "t", "severity": "low", "description": "d", "affected_systems": "web-01"})).await,
                StatusCode::UNPROCESSABLE_ENTITY, "invalid_body").await;
            assert!(message.contains("affected_systems"), "{message}");
            let message = expect_error(report(&app, path, json!({"title": "t", "severity": "low", "description": "d", "colour": "red"})).await,
                StatusCode::UNPROCESSABLE_ENTITY, "invalid_body").await;
            assert!(message.contains("colour"), "{message}");
        }
        let listed = get(&app, "/api/v1/incidents").await;
        assert_eq!(listed["total"], 1, "the refused reports stored nothing: {listed}");
        // Systems in any script are read, never cut mid-character.
        let unicode = create(&app, json!({"title": "Ünïcode", "severity": "low", "description": "d",
            "affected_systems": ["prodüct:1", "réléase:2", "ホスト"]})).await;
        assert_eq!(unicode["triage"]["assets"][0]["kind"], "unknown", "{unicode}");

        // Scopes: a key with incidents:read reads but cannot report.
        let (token, _) = app.user_on_plan("reader@incidents.example", "pro").await;
        let key: Value = app.with_token(Method::POST, "/api/v1/api-keys", &token)
            .json(&json!({"name": "reader", "scopes": ["incidents:read"]}))
            .send().await.unwrap().json().await.unwrap();
        let key = key["api_key"].as_str().unwrap();
        let refused = app.with_token(Method::POST, "/v1/incidents", key)
            .json(&json!({"title": "t", "severity": "low", "description": "d"})).send().await.unwrap();
        let message = expect_error(refused, StatusCode::FORBIDDEN, "insufficient_scope").await;
        assert!(message.contains("incidents:write"), "{message}");
        let own = app.with_token(Method::GET, "/api/v1/incidents", key).send().await.unwrap();
        assert_eq!(json_of(own, StatusCode::OK).await["total"], 0, "another team's incidents are not listed");
        let other = app.with_token(Method::GET, &format!("/v1/incidents/{id}"), key).send().await.unwrap();
        expect_error(other, StatusCode::NOT_FOUND, "not_found").await;
    }

    async fn triage_raises_priority_for_kev_epss_and_exposed_products(app) {
        load_knowledge_base(&app).await;
        let base = |title: &str, severity: &str| json!({"title": title, "severity": severity, "description": "d"});
        assert_eq!(create(&app, base("plain medium", "medium")).await["priority"], "P3");
        assert_eq!(create(&app, base("plain low", "low")).await["priority"], "P4");
        assert_eq!(create(&app, base("plain critical", "critical")).await["priority"], "P1");

        // CVE-2099-0002 (lodash) is in the test KEV list, EPSS 0.5.
        let mut kev = base("lodash exploited", "medium");
        kev["vulnerabilities"] = json!(["cve-2099-0002"]);
        let kev = create(&app, kev).await;
        assert_eq!(kev["priority"], "P2", "{kev}");
        assert_eq!(kev["triage"]["vulnerabilities"][0], json!({"id": "CVE-2099-0002", "in_kev": true, "epss": 0.5}));
        assert!(kev["triage"]["reasons"][1].as_str().unwrap().contains("KEV"), "{kev}");
        assert_eq!(kev["links"]["vulnerabilities"], json!(["CVE-2099-0002"]));
        // By its GHSA id: KEV is read over the alias group's CVEs.
        let mut by_alias = base("lodash by GHSA", "high");
        by_alias["vulnerabilities"] = json!(["GHSA-lodash-0001"]);
        assert_eq!(create(&app, by_alias).await["priority"], "P1");
        // CVE-2099-0001 (Django): EPSS 0.1, not in KEV: no raise.
        let mut django = base("django", "medium");
        django["vulnerabilities"] = json!(["CVE-2099-0001"]);
        let django = create(&app, django).await;
        assert_eq!(django["priority"], "P3");
        assert_eq!(django["triage"]["vulnerabilities"][0]["in_kev"], false);
        // A CVE id the knowledge base does not hold yet is accepted (no evidence).
        let mut unknown = base("future cve", "low");
        unknown["vulnerabilities"] = json!(["CVE-2099-9999"]);
        assert_eq!(create(&app, unknown).await["priority"], "P4");

        // Exposure: a product whose release has an open KEV finding (lodash 4.17.20).
        let (product_id, release_id) = release(&app, "shop").await;
        let uploaded = upload_and_wait(&app, release_id, cyclonedx(&[("lodash", "4.17.20", Some("pkg:npm/lodash@4.17.20"))])).await;
        assert_eq!(uploaded["analysis"]["findings_count"], 1, "{uploaded}");
        let finding_id = uploaded["findings"][0]["id"].as_i64().unwrap();
        let mut exposed = base("shop degraded", "low");
        exposed["affected_systems"] = json!(["Shop"]);
        let exposed = create(&app, exposed).await;
        assert_eq!(exposed["priority"], "P3", "{exposed}");
        let asset = &exposed["triage"]["assets"][0];
        assert_eq!((asset["kind"].as_str(), asset["id"].as_i64(), asset["open_kev"].as_i64(), asset["open_findings"].as_i64()),
            (Some("product"), Some(product_id), Some(1), Some(1)), "{exposed}");
        let mut by_id = base("release degraded", "low");
        by_id["affected_systems"] = json!([format!("release:{release_id}"), format!("product:{product_id}")]);
        let by_id = create(&app, by_id).await;
        assert_eq!(by_id["priority"], "P3");
        assert_eq!(by_id["triage"]["assets"][0]["kind"], "release");
        // A linked finding brings its vulnerability's evidence; exposure and KEV add up.
        let mut both = base("shop breach", "low");
        both["affected_systems"] = json!(["shop"]);
        both["findings"] = json!([finding_id]);
        let both = create(&app, both).await;
        assert_eq!(both["priority"], "P1", "{both}");
        assert_eq!(both["links"]["findings"], json!([finding_id]));

        // Linking a KEV vulnerability later triages again and raises (never lowers).
        let id = id_of(&django);
        let linked = json_of(app.post(&format!("/api/v1/incidents/{id}/links"))
            .json(&json!({"vulnerability": "CVE-2099-0002"})).send().await.unwrap(), StatusCode::CREATED).await;
        assert_eq!(linked["priority"], "P2", "{linked}");
        assert_eq!(linked["links"]["vulnerabilities"], json!(["CVE-2099-0001", "CVE-2099-0002"]));
        let created_at = time(&linked["created_at"]);
        assert_eq!(time(&linked["sla"]["acknowledge_due_at"]), created_at + Duration::hours(4), "due dates follow the priority");
        let timeline = get(&app, &format!("/api/v1/incidents/{id}/timeline")).await;
        let kinds: Vec<&str> = timeline["entries"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["created", "link", "priority"], "{timeline}");
        for (body, field) in [
            (json!({}), "exactly one"),
            (json!({"vulnerability": "CVE-2099-0002", "finding": finding_id}), "exactly one"),
            (json!({"vulnerability": "nonsense"}), "`vulnerability`"),
            (json!({"finding": 424242}), "`finding`"),
            (json!({"scan": "sc_1"}), "`scan`"),
        ] {
            let response = app.post(&format!("/api/v1/incidents/{id}/links")).json(&body).send().await.unwrap();
            let message = expect_error(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
            assert!(message.contains(field), "{body}: {message}");
        }
    }

    async fn a_repeat_of_an_open_incident_is_appended_not_a_new_ticket(app) {
        let first = create(&app, json!({"title": "Database outage", "severity": "medium",
            "description": "primary down", "affected_systems": ["db-1", "db-2"]})).await;
        let id = id_of(&first);
        assert_eq!(first["priority"], "P3");
        // Same title once normalised (case, punctuation, spaces), same systems in another order.
        let repeat = report(&app, "/v1/incidents", json!({"title": "  database OUTAGE!", "severity": "high",
            "description": "still down", "affected_systems": ["DB-2", "db-1", "db-1"]})).await;
        let repeat = json_of(repeat, StatusCode::OK).await;
        assert_eq!(id_of(&repeat), id);
        assert_eq!(repeat["deduplicated"], true);
        assert_eq!(repeat["occurrences"], 2);
        assert_eq!(repeat["title"], "Database outage", "the ticket keeps its title");
        assert_eq!((repeat["severity"].as_str(), repeat["priority"].as_str()), (Some("high"), Some("P2")),
            "a more severe repeat raises severity and priority");
        assert!(time(&repeat["last_occurred_at"]) >= time(&first["last_occurred_at"]));
        // A milder repeat lowers nothing.
        let mild = json_of(report(&app, "/api/v1/incidents", json!({"title": "Database outage", "severity": "low",
            "description": "flapping", "affected_systems": ["db-1", "db-2"]})).await, StatusCode::OK).await;
        assert_eq!((mild["occurrences"].as_i64(), mild["priority"].as_str()), (Some(3), Some("P2")));
        assert_eq!(get(&app, "/api/v1/incidents").await["total"], 1);
        let timeline = get(&app, &format!("/api/v1/incidents/{id}/timeline")).await;
        let occurrences: Vec<&Value> = timeline["entries"].as_array().unwrap().iter().filter(|e| e["kind"] == "occurrence").collect();
        assert_eq!(occurrences.len(), 2, "{timeline}");
        assert_eq!(occurrences[0]["message"], "still down");
        assert_eq!(occurrences[0]["details"]["severity"], "high");

        // Other systems: another incident.
        let other = create(&app, json!({"title": "Database outage", "severity": "medium",
            "description": "replica", "affected_systems": ["db-3"]})).await;
        assert_ne!(id_of(&other), id);
        // Acknowledged and investigating incidents still take repeats; once resolved, a new
        // report is a new ticket.
        assert_eq!(set_status(&app, id, "investigating").await.status(), StatusCode::OK);
        let again = json_of(report(&app, "/api/v1/incidents", json!({"title": "database outage", "severity": "medium",
            "description": "x", "affected_systems": ["db-1", "db-2"]})).await, StatusCode::OK).await;
        assert_eq!(id_of(&again), id);
        assert_eq!(set_status(&app, id, "resolved").await.status(), StatusCode::OK);
        let fresh = create(&app, json!({"title": "database outage", "severity": "medium",
            "description": "back again", "affected_systems": ["db-1", "db-2"]})).await;
        assert_ne!(id_of(&fresh), id);
        assert_eq!(fresh["occurrences"], 1);
        // The resolved one cannot be reopened while the new one is open (one ticket per report).
        let reopened = set_status(&app, id, "investigating").await;
        expect_error(reopened, StatusCode::CONFLICT, "conflict").await;
        assert_eq!(get(&app, "/api/v1/incidents").await["total"], 3);
    }

    async fn the_workflow_keeps_timestamps_and_computes_mtta_and_mttr(app) {
        let clock = app.config.clock.clone();
        let incident = create(&app, json!({"title": "Ransomware note on file server", "severity": "high",
            "description": "d"})).await;
        let id = id_of(&incident);
        let created_at = time(&incident["created_at"]);
        clock.advance(Duration::minutes(30));
        let acknowledged = json_of(set_status(&app, id, "acknowledged").await, StatusCode::OK).await;
        assert_eq!(acknowledged["status"], "acknowledged");
        let ack_at = time(&acknowledged["acknowledged_at"]);
        assert!(ack_at - created_at >= Duration::minutes(30));
        let tta = acknowledged["time_to_acknowledge_seconds"].as_i64().unwrap();
        assert!((1800..1860).contains(&tta), "{tta}");
        assert_eq!(acknowledged["sla"]["acknowledge_overdue"], false);
        clock.advance(Duration::hours(1));
        let investigating = app.post(&format!("/api/v1/incidents/{id}/status"))
            .json(&json!({"status": "investigating", "note": "isolating the host"})).send().await.unwrap();
        let investigating = json_of(investigating, StatusCode::OK).await;
        assert!(investigating["investigating_at"].is_string());
        assert_eq!(time(&investigating["acknowledged_at"]), ack_at, "kept");
        clock.advance(Duration::hours(1));
        let resolved = json_of(set_status(&app, id, "resolved").await, StatusCode::OK).await;
        let ttr = resolved["time_to_resolve_seconds"].as_i64().unwrap();
        assert!((9000..9060).contains(&ttr), "{ttr}");
        assert!(resolved["closed_at"].is_null());
        // Moves the workflow does not allow: 409; an unknown status: 422.
        for status in ["acknowledged", "open", "resolved"] {
            let message = expect_error(set_status(&app, id, status).await, StatusCode::CONFLICT, "conflict").await;
            assert!(message.contains("resolved"), "{message}");
        }
        let message = expect_error(set_status(&app, id, "done").await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert!(message.contains("`status`"), "{message}");
        let closed = json_of(set_status(&app, id, "closed").await, StatusCode::OK).await;
        assert!(closed["closed_at"].is_string());
        let message = expect_error(set_status(&app, id, "investigating").await, StatusCode::CONFLICT, "conflict").await;
        assert!(message.contains("closed"), "{message}");
        let timeline = get(&app, &format!("/api/v1/incidents/{id}/timeline")).await;
        let changes: Vec<(String, String)> = timeline["entries"].as_array().unwrap().iter()
            .filter(|e| e["kind"] == "status")
            .map(|e| (e["details"]["from"].as_str().unwrap().to_string(), e["details"]["to"].as_str().unwrap().to_string()))
            .collect();
        assert_eq!(changes, [("open", "acknowledged"), ("acknowledged", "investigating"), ("investigating", "resolved"), ("resolved", "closed")]
            .map(|(a, b)| (a.to_string(), b.to_string())));
        assert!(timeline["entries"].as_array().unwrap().iter().any(|e| e["message"] == "isolating the host"));

        // Skipping steps acknowledges; reopening clears the resolution.
        let second = create(&app, json!({"title": "Phishing wave", "severity": "low", "description": "d"})).await;
        let second_id = id_of(&second);
        clock.advance(Duration::minutes(10));
        let resolved = json_of(set_status(&app, second_id, "resolved").await, StatusCode::OK).await;
        assert_eq!(resolved["acknowledged_at"], resolved["resolved_at"]);
        assert!(resolved["investigating_at"].is_null());
        let reopened = json_of(set_status(&app, second_id, "investigating").await, StatusCode::OK).await;
        assert!(reopened["resolved_at"].is_null());
        assert!(reopened["time_to_resolve_seconds"].is_null());

        // A P1 left unacknowledged past its hour is overdue.
        let urgent = create(&app, json!({"title": "Domain admin compromised", "severity": "critical", "description": "d"})).await;
        clock.advance(Duration::hours(2));
        let urgent = get(&app, &format!("/api/v1/incidents/{}", id_of(&urgent))).await;
        assert_eq!(urgent["sla"]["acknowledge_overdue"], true, "{urgent}");
        assert_eq!(urgent["sla"]["resolve_overdue"], false);

        let metrics = get(&app, "/api/v1/incidents/metrics").await;
        assert_eq!(metrics["incidents"], 3, "{metrics}");
        assert_eq!(metrics["by_status"], json!({"open": 1, "acknowledged": 0, "investigating": 1, "resolved": 0, "closed": 1}));
        assert_eq!(metrics["by_priority"]["P1"], 1);
        assert_eq!(metrics["acknowledged"], 2);
        assert_eq!(metrics["resolved"], 1, "the reopened one no longer counts as resolved");
        let mtta = metrics["mtta_seconds"].as_f64().unwrap();
        assert!((1200.0..1260.0).contains(&mtta), "mean of 30 and 10 minutes: {metrics}");
        let mttr = metrics["mttr_seconds"].as_f64().unwrap();
        assert!((9000.0..9060.0).contains(&mttr), "{metrics}");
        assert_eq!(metrics["acknowledge_sla_breaches"], 1, "{metrics}");
        let window = get(&app, &format!("/api/v1/incidents/metrics?since={}", (created_at + Duration::minutes(1)).to_rfc3339().replace('+', "%2B"))).await;
        assert_eq!(window["incidents"], 2, "{window}");
        let listed = get(&app, "/api/v1/incidents?status=open,investigating&priority=P1").await;
        assert_eq!(listed["total"], 1, "{listed}");
        let bad = app.get("/api/v1/incidents?status=done").send().await.unwrap();
        expect_error(bad, StatusCode::BAD_REQUEST, "bad_request").await;
    }

    async fn the_team_configures_its_sla_and_comments_go_on_the_timeline(app) {
        let settings = get(&app, "/api/v1/incidents/settings").await;
        assert_eq!(settings["sla"]["P1"], json!({"acknowledge_hours": 1, "resolve_hours": 24}));
        assert_eq!(settings["assignment"]["mode"], "none");
        let mut changed = settings.clone();
        changed["sla"]["P3"] = json!({"acknowledge_hours": 8, "resolve_hours": null});
        let stored = json_of(app.request(Method::PUT, "/api/v1/incidents/settings").json(&changed).send().await.unwrap(), StatusCode::OK).await;
        assert_eq!(stored["sla"]["P3"], json!({"acknowledge_hours": 8, "resolve_hours": null}));
        let incident = create(&app, json!({"title": "Leaked token", "severity": "medium", "description": "d"})).await;
        let created_at = time(&incident["created_at"]);
        assert_eq!(time(&incident["sla"]["acknowledge_due_at"]), created_at + Duration::hours(8));
        assert!(incident["sla"]["resolve_due_at"].is_null());
        let mut bad = settings.clone();
        bad["sla"]["P1"]["acknowledge_hours"] = json!(0);
        let message = expect_error(app.request(Method::PUT, "/api/v1/incidents/settings").json(&bad).send().await.unwrap(),
            StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert!(message.contains("`sla.P1.acknowledge_hours`"), "{message}");

        let id = id_of(&incident);
        let comment = json_of(app.post(&format!("/api/v1/incidents/{id}/comments"))
            .json(&json!({"body": "Rotated the token; checking logs"})).send().await.unwrap(), StatusCode::CREATED).await;
        assert_eq!(comment["kind"], "comment");
        assert_eq!(comment["message"], "Rotated the token; checking logs");
        assert_eq!(comment["actor"], "admin@localhost");
        let missing = app.post(&format!("/api/v1/incidents/{id}/comments")).json(&json!({"body": " "})).send().await.unwrap();
        let message = expect_error(missing, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert!(message.contains("`body`"), "{message}");
        let absent = app.post("/api/v1/incidents/999999/comments").json(&json!({"body": "x"})).send().await.unwrap();
        expect_error(absent, StatusCode::NOT_FOUND, "not_found").await;
        let updated = json_of(app.request(Method::PATCH, &format!("/api/v1/incidents/{id}"))
            .json(&json!({"severity": "critical", "tags": ["secrets"]})).send().await.unwrap(), StatusCode::OK).await;
        assert_eq!((updated["severity"].as_str(), updated["priority"].as_str()), (Some("critical"), Some("P1")), "triage runs again");
        assert_eq!(updated["tags"], json!(["secrets"]));
        let overridden = json_of(app.request(Method::PATCH, &format!("/api/v1/incidents/{id}"))
            .json(&json!({"priority": "P2"})).send().await.unwrap(), StatusCode::OK).await;
        assert_eq!(overridden["priority"], "P2");
        assert_eq!(time(&overridden["sla"]["acknowledge_due_at"]), created_at + Duration::hours(4));
        let message = expect_error(app.request(Method::PATCH, &format!("/api/v1/incidents/{id}"))
            .json(&json!({"priority": "P0"})).send().await.unwrap(), StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert!(message.contains("`priority`"), "{message}");
        let timeline = get(&app, &format!("/api/v1/incidents/{id}/timeline")).await;
        let kinds: Vec<&str> = timeline["entries"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["created", "comment", "update", "priority", "update", "priority"], "{timeline}");

        // Every change is in the audit log.
        let audit = get(&app, &format!("/api/v1/audit-log?target_type=incident&target_id={id}")).await;
        let mut actions: Vec<&str> = audit["data"].as_array()
            .unwrap_or_else(|| panic!("{audit}")).iter().map(|e| e["action"].as_str().unwrap()).collect();
        actions.reverse();
        assert_eq!(actions, ["incident.create", "incident.comment", "incident.update", "incident.update"], "{audit}");
    }

    async fn new_incidents_are_assigned_round_robin_or_by_tag(app) {
        let team = team_id(&app).await;
        let mut members = Vec::new();
        for email in ["responder-a@ops.example", "responder-b@ops.example"] {
            let member = json_of(app.post(&format!("/api/v1/teams/{team}/members"))
                .json(&json!({"email": email, "role": "member"})).send().await.unwrap(), StatusCode::CREATED).await;
            members.push(member["user_id"].as_i64().unwrap());
        }
        let admin_id = get(&app, "/api/v1/me").await["user"]["id"].as_i64().unwrap();
        let mut settings = get(&app, "/api/v1/incidents/settings").await;
        settings["assignment"] = json!({"mode": "round_robin", "role": "member"});
        settings["tag_rules"] = json!([{"tag": "payments", "assignee_user_id": admin_id}]);
        json_of(app.request(Method::PUT, "/api/v1/incidents/settings").json(&settings).send().await.unwrap(), StatusCode::OK).await;
        let mut assigned = Vec::new();
        for n in 0..3 {
            let incident = create(&app, json!({"title": format!("alert {n}"), "severity": "low", "description": "d"})).await;
            assigned.push(incident["assignee"]["user_id"].as_i64().unwrap_or_else(|| panic!("{incident}")));
        }
        assert_eq!(assigned, [members[0], members[1], members[0]]);
        let tagged = create(&app, json!({"title": "card skimming", "severity": "high", "description": "d", "tags": ["Payments"]})).await;
        assert_eq!(tagged["assignee"], json!({"user_id": admin_id, "email": "admin@localhost"}));
        let next = create(&app, json!({"title": "alert 4", "severity": "low", "description": "d"})).await;
        assert_eq!(next["assignee"]["user_id"].as_i64(), Some(members[1]), "a tag rule does not take a turn");
        let timeline = get(&app, &format!("/api/v1/incidents/{}/timeline", id_of(&next))).await;
        assert_eq!(timeline["entries"][1]["details"]["rule"], "round_robin", "{timeline}");

        // Manual reassignment: to a member, or nobody; never to a stranger.
        let id = id_of(&next);
        let moved = json_of(app.request(Method::PATCH, &format!("/api/v1/incidents/{id}"))
            .json(&json!({"assignee_user_id": members[0]})).send().await.unwrap(), StatusCode::OK).await;
        assert_eq!(moved["assignee"]["user_id"].as_i64(), Some(members[0]));
        let (stranger_token, other_team) = app.user_on_plan("stranger@elsewhere.example", "pro").await;
        assert_ne!(other_team, team);
        let stranger: Value = app.with_token(Method::GET, "/api/v1/me", &stranger_token).send().await.unwrap().json().await.unwrap();
        let stranger = stranger["user"]["id"].as_i64().unwrap();
        let message = expect_error(app.request(Method::PATCH, &format!("/api/v1/incidents/{id}"))
            .json(&json!({"assignee_user_id": stranger})).send().await.unwrap(), StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert!(message.contains("not a member"), "{message}");
        let unassigned = json_of(app.request(Method::PATCH, &format!("/api/v1/incidents/{id}"))
            .json(&json!({"assignee_user_id": null})).send().await.unwrap(), StatusCode::OK).await;
        assert!(unassigned["assignee"].is_null());
        let message = expect_error(app.request(Method::PATCH, &format!("/api/v1/incidents/{id}"))
            .json(&json!({"assignee_user_id": 987654})).send().await.unwrap(), StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert!(message.contains("`assignee_user_id`"), "{message}");
        let by_assignee = get(&app, &format!("/api/v1/incidents?assignee_user_id={}", members[0])).await;
        assert_eq!(by_assignee["total"], 2, "{by_assignee}");

        for (assignment, field) in [
            (json!({"mode": "random", "role": "member"}), "`assignment.mode`"),
            (json!({"mode": "round_robin", "role": "boss"}), "`assignment.role`"),
        ] {
            let mut bad = settings.clone();
            bad["assignment"] = assignment;
            let message = expect_error(app.request(Method::PUT, "/api/v1/incidents/settings").json(&bad).send().await.unwrap(),
                StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
            assert!(message.contains(field), "{message}");
        }
        let mut bad = settings.clone();
        bad["tag_rules"] = json!([{"tag": "x", "assignee_user_id": 987654}]);
        let message = expect_error(app.request(Method::PUT, "/api/v1/incidents/settings").json(&bad).send().await.unwrap(),
            StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert!(message.contains("`tag_rules[0].assignee_user_id`"), "{message}");
    }

    async fn every_incident_change_is_written_to_the_event_stream(app) {
        let events = |app: &TestApp| {
            let request = app.get("/api/v1/events?type=incident.created,incident.updated,incident.resolved");
            async move { json_of(request.send().await.unwrap(), StatusCode::OK).await["items"].as_array().unwrap().clone() }
        };
        let incident = create(&app, json!({"title": "Web shell found", "severity": "critical",
            "description": "d", "affected_systems": ["web-01"]})).await;
        let id = id_of(&incident);
        json_of(report(&app, "/v1/incidents", json!({"title": "web shell found", "severity": "high",
            "description": "again", "affected_systems": ["web-01"]})).await, StatusCode::OK).await;
        json_of(set_status(&app, id, "acknowledged").await, StatusCode::OK).await;
        json_of(app.post(&format!("/api/v1/incidents/{id}/comments")).json(&json!({"body": "c"})).send().await.unwrap(), StatusCode::CREATED).await;
        json_of(app.request(Method::PATCH, &format!("/api/v1/incidents/{id}")).json(&json!({"tags": ["web"]})).send().await.unwrap(), StatusCode::OK).await;
        json_of(app.post(&format!("/api/v1/incidents/{id}/links")).json(&json!({"vulnerability": "CVE-2099-4242"})).send().await.unwrap(), StatusCode::CREATED).await;
        json_of(set_status(&app, id, "resolved").await, StatusCode::OK).await;
        // Refused changes write nothing.
        expect_error(set_status(&app, id, "acknowledged").await, StatusCode::CONFLICT, "conflict").await;
        expect_error(report(&app, "/v1/incidents", json!({"title": "x", "severity": "urgent", "description": "d"})).await,
            StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;

        let stream = events(&app).await;
        let seen: Vec<(&str, &str)> = stream.iter()
            .map(|e| (e["type"].as_str().unwrap(), e["data"]["change"].as_str().unwrap()))
            .collect();
        assert_eq!(seen, [
            ("incident.created", "created"),
            ("incident.updated", "repeat"),
            ("incident.updated", "status"),
            ("incident.updated", "comment"),
            ("incident.updated", "update"),
            ("incident.updated", "link"),
            ("incident.resolved", "status"),
        ], "{stream:?}");
        let team = team_id(&app).await;
        for event in &stream {
            assert_eq!(event["team_id"], team);
            assert_eq!(event["test_mode"], false);
            assert_eq!(event["data"]["incident_id"], id);
            assert_eq!(event["data"]["title"], "Web shell found");
        }
        assert_eq!(stream[0]["data"]["priority"], "P1");
        assert_eq!(stream[1]["data"]["occurrences"], 2);
        assert_eq!(stream[4]["data"]["tags"], json!(["web"]));
        assert_eq!(stream[6]["data"]["status"], "resolved");

        // A test key's incidents are test data: their events are marked and never delivered;
        // live credentials neither see the incident nor its events.
        let (token, _) = app.user_on_plan("tester@incidents.example", "pro").await;
        let key: Value = app.with_token(Method::POST, "/api/v1/api-keys", &token)
            .json(&json!({"name": "sandbox", "test_mode": true})).send().await.unwrap().json().await.unwrap();
        let test_key = key["api_key"].as_str().unwrap_or_else(|| panic!("{key}"));
        assert!(test_key.starts_with("rk_test_"), "{key}");
        let sandbox = app.with_token(Method::POST, "/v1/incidents", test_key)
            .json(&json!({"title": "drill", "severity": "low", "description": "d"})).send().await.unwrap();
        let sandbox = json_of(sandbox, StatusCode::CREATED).await;
        assert_eq!(sandbox["test_mode"], true);
        let test_events = app.with_token(Method::GET, "/api/v1/events?type=incident.created", test_key).send().await.unwrap();
        let test_events = json_of(test_events, StatusCode::OK).await;
        assert_eq!(test_events["items"].as_array().unwrap().len(), 1, "{test_events}");
        assert_eq!(test_events["items"][0]["test_mode"], true);
        let live = app.with_token(Method::GET, "/api/v1/incidents", &token).send().await.unwrap();
        assert_eq!(json_of(live, StatusCode::OK).await["total"], 0);
    }
}
