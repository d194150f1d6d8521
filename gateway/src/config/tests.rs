use std::time::Duration;

use super::*;

const MINIMAL: &str = r#"
gateway_id = "gw-1"
data_dir = "/tmp/gw"

[[coordinator]]
port = "/dev/ttyACM0"
esi_id = "10443720000000001"
meter_number = "M1"
"#;

fn err(text: &str) -> ConfigError {
    Config::parse(text).unwrap_err()
}

#[test]
fn minimal_file_gets_the_documented_defaults() {
    let c = Config::parse(MINIMAL).unwrap();
    assert_eq!(c.gateway_id, "gw-1");
    assert_eq!(c.coordinators.len(), 1);
    assert_eq!(c.coordinators[0].baud, 115_200);
    assert_eq!(c.messages.max_text_length, 59);
    assert_eq!(c.provisioning.join_window_default, Duration::from_secs(86_400));
    assert_eq!(c.priorities, PriorityDeadlines::default());
    assert_eq!(c.ctl.socket, PathBuf::from("/tmp/gw/ctl.sock"));
    assert_eq!(c.store_path(), PathBuf::from("/tmp/gw/gateway.redb"));
}

#[test]
fn full_file_parses() {
    let text = format!(
        "{MINIMAL}
[[coordinator]]
port = \"/dev/ttyACM1\"
baud = 230400
esi_id = \"10443720000000002\"
meter_number = \"M2\"

[polling]
status_interval = \"30s\"
stale_after = \"2m\"

[messages]
max_text_length = 40
max_duration = \"1d\"

[provisioning]
join_window_default = \"2h\"
join_window_min = \"5m\"

[priorities]
high = \"5m\"
medium = 3600
low = \"1d\"

[link]
heartbeat_timeout = \"20s\"
query_timeout = \"500ms\"

[scheduler]
max_in_flight = 2
max_attempts = 3
retry_base = \"1s\"

[ctl]
socket = \"/run/gw.sock\"
role = \"rep\"
"
    );
    let c = Config::parse(&text).unwrap();
    assert_eq!(c.coordinators[1].baud, 230_400);
    assert_eq!(c.polling.status_interval, Duration::from_secs(30));
    assert_eq!(c.polling.stale_after, Duration::from_secs(120));
    assert_eq!(c.messages.max_text_length, 40);
    assert_eq!(c.provisioning.join_window_min, Duration::from_secs(300));
    assert_eq!(c.priorities.medium, Duration::from_secs(3600));
    assert_eq!(c.link.query_timeout, Duration::from_millis(500));
    assert_eq!(c.scheduler.max_in_flight, 2);
    assert_eq!(c.ctl.role, Role::Rep);
    assert!(c.coordinator(&EsiId::new("10443720000000002")).is_some());
}

#[test]
fn errors_name_the_key() {
    let cases: &[(&str, &str)] = &[
        (
            "data_dir = \"/x\"\n[[coordinator]]\nport=\"p\"\nesi_id=\"1\"\nmeter_number=\"m\"",
            "gateway_id",
        ),
        ("gateway_id = \"a/b\"\ndata_dir=\"/x\"", "gateway_id"),
        ("gateway_id = \"g\"\ndata_dir=\"/x\"", "coordinator"),
    ];
    for (text, key) in cases {
        assert_eq!(err(text).key, *key, "{text}");
    }
    let with = |extra: &str| format!("{MINIMAL}{extra}");
    assert_eq!(err(&with("baud = 7\n")).key, "coordinator[0].baud");
    assert!(err(&with("baud = 7\n")).message.contains("out of range"));
    assert_eq!(err(&with("baud = \"fast\"\n")).key, "coordinator[0].baud");
    assert_eq!(err(&with("colour = 1\n")).key, "coordinator[0].colour");
    assert_eq!(
        err(&with("[polling]\nstatus_interval = \"soon\"\n")).key,
        "polling.status_interval"
    );
    assert_eq!(
        err(&with("[polling]\nstatus_interval = \"1m\"\nstale_after = \"30s\"\n")).key,
        "polling.stale_after"
    );
    assert_eq!(err(&with("[messages]\nmax_text_length = 200\n")).key, "messages.max_text_length");
    assert_eq!(
        err(&with("[provisioning]\njoin_window_default = \"31d\"\n")).key,
        "provisioning.join_window_default"
    );
    assert_eq!(err(&with("[priorities]\nhigh = \"3h\"\n")).key, "priorities.medium");
    assert_eq!(err(&with("[ctl]\nrole = \"boss\"\n")).key, "ctl.role");
    assert_eq!(
        err(&with("[polling]\nstatus_intervall = \"1m\"\n")).key,
        "polling.status_intervall"
    );
    let dup = with("[[coordinator]]\nport=\"/dev/ttyACM1\"\nesi_id=\"10443720000000001\"\nmeter_number=\"M\"\n");
    assert_eq!(err(&dup).key, "coordinator[1].esi_id");
    let e = err("gateway_id = ");
    assert!(e.key.is_empty() && e.message.contains("TOML"), "{e}");
    assert!(e.to_string().starts_with("configuration: "));
    assert_eq!(
        err(&with("baud = 7\n")).to_string(),
        "configuration key `coordinator[0].baud`: 7 is out of range: expected 1200 to 4000000"
    );
}

#[test]
fn durations() {
    assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
    assert_eq!(parse_duration("30s"), Some(Duration::from_secs(30)));
    assert_eq!(parse_duration("30"), Some(Duration::from_secs(30)));
    assert_eq!(parse_duration("5m"), Some(Duration::from_secs(300)));
    assert_eq!(parse_duration("2h"), Some(Duration::from_secs(7200)));
    assert_eq!(parse_duration("1d"), Some(Duration::from_secs(86_400)));
    assert_eq!(parse_duration("1w"), None);
    assert_eq!(parse_duration("m"), None);
    assert_eq!(parse_duration("-1s"), None);
}

#[test]
fn metrics_section() {
    assert_eq!(Config::parse(MINIMAL).unwrap().metrics, None);
    let c = Config::parse(&format!("{MINIMAL}\n[metrics]\n")).unwrap();
    assert_eq!(c.metrics, Some(MetricsConfig::default()));
    let c = Config::parse(&format!("{MINIMAL}\n[metrics]\nlisten = \"127.0.0.1:9100\"\n")).unwrap();
    assert_eq!(c.metrics.unwrap().listen.port(), 9100);
    let c = Config::parse(&format!("{MINIMAL}\n[metrics]\nenabled = false\n")).unwrap();
    assert_eq!(c.metrics, None);
    assert_eq!(err(&format!("{MINIMAL}\n[metrics]\nlisten = \"nope\"\n")).key, "metrics.listen");
    assert_eq!(err(&format!("{MINIMAL}\n[metrics]\nport = 1\n")).key, "metrics.port");
}

#[test]
fn ezsp_coordinator_kind() {
    let c = Config::parse(MINIMAL).unwrap();
    assert_eq!(c.coordinators[0].kind, CoordinatorKind::HostLink);
    let text = MINIMAL.replace("meter_number = \"M1\"", "meter_number = \"M1\"\nkind = \"ezsp\"");
    let c = Config::parse(&text).unwrap();
    assert_eq!(c.coordinators[0].kind, CoordinatorKind::Ezsp(EzspSettings::default()));
    let text = MINIMAL.replace(
        "meter_number = \"M1\"",
        "meter_number = \"M1\"\nkind = \"ezsp\"\nchannel = 25\npan_id = 0x1A62\ntx_power = -3",
    );
    let c = Config::parse(&text).unwrap();
    assert_eq!(
        c.coordinators[0].kind,
        CoordinatorKind::Ezsp(EzspSettings { channel: 25, pan_id: Some(0x1A62), tx_power: -3 })
    );
    let bad =
        err(&MINIMAL.replace("meter_number = \"M1\"", "meter_number = \"M1\"\nkind = \"zstack\""));
    assert_eq!(bad.key, "coordinator[0].kind");
    let bad = err(&MINIMAL
        .replace("meter_number = \"M1\"", "meter_number = \"M1\"\nkind = \"ezsp\"\nchannel = 27"));
    assert_eq!(bad.key, "coordinator[0].channel");
    // Network settings without `kind = "ezsp"` are unknown keys.
    let bad = err(&MINIMAL.replace("meter_number = \"M1\"", "meter_number = \"M1\"\nchannel = 15"));
    assert_eq!(bad.key, "coordinator[0].channel");
}
