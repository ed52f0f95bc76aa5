//! Spawning scripts (issue 17) over real HTTP against cx-sim, on paused
//! tokio time (the simulator's clock follows it): start, signal, and follow
//! a spawned script to its completed record.

// Tests unwrap: a panic with the value is the failure report.
#![allow(clippy::unwrap_used)]

use cx_sim::Sim;
use cx_workflow::ErrorKind;
use cx_workflow::scripts::{Client, ContactId, ScriptRef, ScriptsConfig, StartScript};
use serde_json::Value;

async fn start() -> (Sim, Client) {
    let sim = Sim::start().await.unwrap();
    let client = Client::new(cx_testkit::sdk_http(&sim), ScriptsConfig::default()).unwrap();
    (sim, client)
}

#[tokio::test(start_paused = true)]
async fn a_spawned_script_is_followed_to_its_completed_record() {
    let (sim, client) = start().await;
    let script = client
        .find_script("Outbound Survey")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(script.script_id.0, "5100001");
    assert_eq!(client.find_script("no such script").await.unwrap(), None);

    let id: u64 = script.script_id.0.parse().unwrap();
    let contact = client
        .start(
            &ScriptRef::Id(id),
            &StartScript::new(4_100_002).with_parameters(["a", "b"]),
        )
        .await
        .unwrap();
    client
        .signal(&contact, &["go".to_owned(), "7".to_owned()])
        .await
        .unwrap();

    let mut seen = Vec::new();
    let run = client
        .follow(&contact, |entry| seen.push(entry.clone()))
        .await
        .unwrap();
    // Active for its 90 s run, then gone; what CXone shows of it after.
    assert!(run.polls >= 2, "{run:?}");
    let id_of = |v: &Value| {
        serde_json::from_value::<cx_http::TextId>(v["contactId"].clone())
            .unwrap()
            .0
    };
    assert_eq!(
        run.last_active.as_ref().map(id_of).as_deref(),
        Some(contact.as_str())
    );
    assert!(!seen.is_empty());
    assert_eq!(id_of(&run.record), contact.as_str(), "{}", run.record);
    assert_eq!(run.record["endReason"], "Script Ended");
    let names: Vec<_> = run
        .states
        .iter()
        .filter_map(|s| s.contact_state_name.as_deref())
        .collect();
    assert!(names.contains(&"EndContact"), "{names:?}");

    // The contact ended: a signal now is refused as CXone does.
    let late = client
        .signal(&contact, &["x".to_owned()])
        .await
        .unwrap_err();
    assert_eq!(late.kind(), ErrorKind::NotFound, "{late}");
    let journal = sim.journal();
    let actives: Vec<_> = journal
        .iter()
        .filter(|e| e.path.ends_with("/contacts/active"))
        .map(|e| e.status)
        .collect();
    assert_eq!(actives.last(), Some(&204));
    assert!(actives[..actives.len() - 1].iter().all(|s| *s == 200));
}

#[tokio::test(start_paused = true)]
async fn the_sdk_form_starts_by_id_and_bad_input_sends_nothing() {
    let (sim, client) = start().await;
    let contact = client
        .start_sdk(
            5_100_003,
            &StartScript::new(4_100_001).with_parameters(["x"]),
        )
        .await
        .unwrap();
    assert!(contact.as_str().parse::<u64>().is_ok());
    let sent = sim.journal().len();

    let piped = client
        .start(
            &ScriptRef::Path("Custom\\Outbound Survey".into()),
            &StartScript::new(4_100_001).with_parameters(["ok", "a|b"]),
        )
        .await
        .unwrap_err();
    assert!(piped.to_string().contains("parameters[1]"), "{piped}");
    let ten: Vec<String> = (1..=10).map(|i| i.to_string()).collect();
    let too_many = client.signal(&contact, &ten).await.unwrap_err();
    assert!(too_many.is_validation(), "{too_many}");
    assert!(ContactId::new("a/b").is_err());
    assert_eq!(sim.journal().len(), sent);

    let unknown = client
        .start(&ScriptRef::Id(42), &StartScript::new(4_100_001))
        .await
        .unwrap_err();
    assert_eq!(unknown.kind(), ErrorKind::InvalidRequest, "{unknown}");
}
