//! `kill -9` of `rampart serve` while the e-mail notifier is sending, on the real binary: the
//! restarted server e-mails every event, and none twice except the one whose send the kill
//! interrupted (the cursor moves past an event only once its e-mail is acknowledged, so that
//! one is sent again: at least once, never silently lost).
//!
//! The SMTP sink acknowledges a few messages and then holds the reply to the next one, so the
//! kill lands with a send in flight without any timing assumption.

use std::collections::BTreeMap;
use std::os::unix::process::ExitStatusExt;
use std::time::Duration;

use rampart_core::EventType;
use rampart_store::{DatabaseLocation, NewEvent, Store, Tenant};
use rampart_test_support::{ReceivedMail, SmtpSink};
use serde_json::{json, Value};

use crate::serve::ServerProcess;

const EVENTS: usize = 30;
/// Messages the sink acknowledges before it holds one.
const ACKNOWLEDGED_BEFORE_KILL: usize = 7;
const SUBSCRIBER: &str = "owner@notify.example";

/// The event id in a notification's text (`Event: finding.new (#12) at …`).
fn event_id(mail: &ReceivedMail) -> Option<i64> {
    let text = mail.data.replace("=\r\n", "");
    let start = text.find("Event: finding.new (#")? + "Event: finding.new (#".len();
    let digits: String = text[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

fn sent_per_event(sink: &SmtpSink) -> BTreeMap<i64, usize> {
    let mut counts = BTreeMap::new();
    for mail in sink.messages() {
        if let Some(id) = event_id(&mail) {
            *counts.entry(id).or_default() += 1;
        }
    }
    counts
}

async fn wait_until(seconds: u64, what: &str, mut ready: impl FnMut() -> bool) {
    for _ in 0..seconds * 20 {
        if ready() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("gave up waiting for {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_while_mailing_then_every_event_is_mailed_and_only_the_interrupted_one_twice() {
    let sink = SmtpSink::start_accepting(ACKNOWLEDGED_BEFORE_KILL).await;
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let data_arg = data_dir.to_str().unwrap().to_string();
    let port = sink.port.to_string();
    let args = [
        "--data-dir",
        data_arg.as_str(),
        "--admin-email",
        SUBSCRIBER,
        "--smtp-host",
        "127.0.0.1",
        "--smtp-port",
        port.as_str(),
        "--smtp-tls",
        "none",
        "--notification-interval-seconds",
        "1",
    ];

    let first = ServerProcess::start(&args, &[]);
    let key = first
        .printed_key()
        .expect("first start prints the admin key");
    let client = reqwest::Client::new();
    let saved: Value = client
        .put(first.url("/api/v1/me/notification-preferences"))
        .bearer_auth(&key)
        .json(&json!({"event_types": ["finding.new"], "delivery": "immediate"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(saved["subscribed"], true, "{saved}");
    let me: Value = client
        .get(first.url("/api/v1/me"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let team = me["team"]["id"].as_i64().unwrap_or_else(|| panic!("{me}"));

    // The events, recorded in the outbox as a change's transaction records them.
    let store = Store::connect(&DatabaseLocation::SqliteDir(data_dir.clone()))
        .await
        .unwrap();
    let events: Vec<NewEvent> = (0..EVENTS)
        .map(|i| {
            NewEvent::team(
                Tenant::live(team),
                EventType::FindingNew,
                json!({"finding_id": i}),
            )
        })
        .collect();
    store.record_events(&events).await.unwrap();
    store.close().await;

    // Some e-mails acknowledged, the next one held: the kill lands during that send.
    wait_until(60, "a send held by the sink", || !sink.held().is_empty()).await;
    let (exit, _) = first.stop("KILL");
    assert_eq!(exit.signal(), Some(9), "killed, not exited: {exit:?}");
    let before = sent_per_event(&sink);
    assert_eq!(before.len(), ACKNOWLEDGED_BEFORE_KILL, "{before:?}");
    let interrupted = event_id(&sink.held()[0]).expect("the held e-mail names its event");
    assert!(!before.contains_key(&interrupted));
    sink.release();

    // The restarted server goes on from each subscriber's cursor.
    let second = ServerProcess::start(&args, &[]);
    wait_until(120, "an e-mail for every event", || {
        sent_per_event(&sink).len() == EVENTS
    })
    .await;
    // Another pass finds nothing more to send.
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let after = sent_per_event(&sink);
    assert_eq!(after.len(), EVENTS, "{after:?}");
    let twice: Vec<(&i64, &usize)> = after.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        twice.is_empty(),
        "acknowledged e-mails are never sent again: {twice:?}"
    );
    // The interrupted one was received but not acknowledged before the kill, so the
    // restarted server sent it (its only acknowledged copy).
    assert_eq!(after.get(&interrupted), Some(&1));
    drop(second);
}
