//! Replacing what identifies a customer in recorded fixtures, consistently: the same serial,
//! MAC, e-mail or IP address, name or id becomes the same stand-in wherever it appears (bodies,
//! paths, queries, `Link` headers), across every fixture of a recording, so that the fixtures
//! still describe one coherent organization and replay as they were recorded.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde_json::Value;

use super::Fixture;

/// Consistent stand-ins for identifying values ([`super::record::Recorder::anonymize`]).
#[derive(Debug, Default)]
pub struct Anonymizer {
    replaced: HashMap<String, String>,
    counts: HashMap<&'static str, usize>,
}

/// What a value is, and so what it becomes.
#[derive(Clone, Copy)]
enum Kind {
    Serial,
    Mac,
    Email,
    Ip,
    Name,
    Id,
}

impl Anonymizer {
    /// Replaces identifying values in `fixtures`, in place.
    pub fn fixtures(&mut self, fixtures: &mut [Fixture]) {
        for fixture in fixtures.iter_mut() {
            self.learn_value(None, &fixture.response.body);
            self.learn_path(&fixture.request.path);
            for (name, value) in &fixture.request.query {
                self.learn_query(name, value);
            }
        }
        for fixture in fixtures.iter_mut() {
            self.apply_value(&mut fixture.response.body);
            fixture.request.path = self.apply_path(&fixture.request.path);
            for (_, value) in fixture.request.query.iter_mut() {
                *value = self.apply_text(value);
            }
            if let Some(link) = fixture.response.headers.get_mut("link") {
                *link = self.apply_link(link);
            }
        }
    }

    /// The stand-in of `original`, made the first time it is met.
    fn stand_in(&mut self, original: &str, kind: Kind) -> String {
        if let Some(known) = self.replaced.get(original) {
            return known.clone();
        }
        let key = match kind {
            Kind::Serial => "serial",
            Kind::Mac => "mac",
            Kind::Email => "email",
            Kind::Ip => "ip",
            Kind::Name => "name",
            Kind::Id => "id",
        };
        let count = self.counts.entry(key).or_default();
        *count += 1;
        let n = *count;
        let replacement = match kind {
            Kind::Serial => format!("Q234-ABCD-{n:04}"),
            Kind::Mac => format!(
                "00:18:0a:{:02x}:{:02x}:{:02x}",
                (n >> 16) & 0xff,
                (n >> 8) & 0xff,
                n & 0xff
            ),
            Kind::Email => format!("user{n}@example.com"),
            Kind::Ip => {
                let (address, suffix) =
                    original.split_at(original.find('/').unwrap_or(original.len()));
                let stand_in = match address.parse::<IpAddr>() {
                    Ok(IpAddr::V6(_)) => format!("2001:db8::{n:x}"),
                    _ => {
                        Ipv4Addr::from(u32::from(Ipv4Addr::new(10, 0, 0, 0)).wrapping_add(n as u32))
                            .to_string()
                    }
                };
                format!("{stand_in}{suffix}")
            }
            Kind::Name => format!("name {n}"),
            Kind::Id => id_like(original, n),
        };
        self.replaced
            .insert(original.to_owned(), replacement.clone());
        replacement
    }

    fn learn_value(&mut self, key: Option<&str>, value: &Value) {
        match value {
            Value::String(text) => {
                if let Some(kind) = kind_of(key, text) {
                    self.stand_in(text, kind);
                }
            }
            Value::Array(items) => items.iter().for_each(|v| self.learn_value(key, v)),
            Value::Object(map) => map
                .iter()
                .for_each(|(k, v)| self.learn_value(Some(k.as_str()), v)),
            _ => {}
        }
    }

    /// Ids in a path: the segment after `organizations`, `networks`, `devices`, ...
    fn learn_path(&mut self, path: &str) {
        let segments: Vec<&str> = path.split('/').collect();
        for pair in segments.windows(2) {
            let id = percent_decode(pair[1]);
            let kind = match pair[0] {
                "organizations" | "networks" | "clients" | "actionBatches" => Some(Kind::Id),
                "devices" if kind_of(None, &id).is_none() => Some(Kind::Id),
                _ => kind_of(None, &id),
            };
            if let Some(kind) = kind {
                if !id.is_empty() && !id.starts_with('{') {
                    self.stand_in(&id, kind);
                }
            }
        }
    }

    fn learn_query(&mut self, name: &str, value: &str) {
        let name = name.trim_end_matches("[]");
        if let Some(kind) = kind_of(Some(name), value) {
            self.stand_in(value, kind);
        } else if name.ends_with("Ids") || name == "serials" {
            self.stand_in(value, Kind::Id);
        }
    }

    /// A whole value that was met before gets its stand-in; anything else stays.
    fn apply_text(&self, text: &str) -> String {
        self.replaced
            .get(text)
            .cloned()
            .unwrap_or_else(|| text.to_owned())
    }

    fn apply_value(&self, value: &mut Value) {
        match value {
            Value::String(text) => *text = self.apply_text(text),
            Value::Array(items) => items.iter_mut().for_each(|v| self.apply_value(v)),
            Value::Object(map) => map.values_mut().for_each(|v| self.apply_value(v)),
            _ => {}
        }
    }

    fn apply_path(&self, path: &str) -> String {
        path.split('/')
            .map(|segment| {
                let decoded = percent_decode(segment);
                match self.replaced.get(&decoded) {
                    Some(stand_in) => {
                        crate::workflows::owners::path_segment(stand_in).unwrap_or_default()
                    }
                    None => segment.to_owned(),
                }
            })
            .collect::<Vec<_>>()
            .join("/")
    }

    /// Each `<url>` of a `Link` header: its path segments and query values.
    fn apply_link(&self, header: &str) -> String {
        let mut out = String::new();
        let mut rest = header;
        while let Some(open) = rest.find('<') {
            let Some(close) = rest[open..].find('>') else {
                break;
            };
            out.push_str(&rest[..=open]);
            let target = &rest[open + 1..open + close];
            out.push_str(&match reqwest::Url::parse(target) {
                Ok(mut url) => {
                    url.set_path(&self.apply_path(url.path()));
                    let pairs: Vec<(String, String)> = url
                        .query_pairs()
                        .map(|(k, v)| (k.into_owned(), self.apply_text(&v)))
                        .collect();
                    if !pairs.is_empty() {
                        url.query_pairs_mut().clear().extend_pairs(pairs);
                    }
                    url.to_string()
                }
                Err(_) => target.to_owned(),
            });
            rest = &rest[open + close..];
        }
        out.push_str(rest);
        out
    }
}

/// What identifying kind a string value is, by its form or its field's name.
fn kind_of(key: Option<&str>, text: &str) -> Option<Kind> {
    if text.is_empty() {
        return None;
    }
    if is_serial(text) {
        return Some(Kind::Serial);
    }
    if is_mac(text) {
        return Some(Kind::Mac);
    }
    if is_email(text) {
        return Some(Kind::Email);
    }
    let address = text.split('/').next().unwrap_or(text);
    if address.parse::<Ipv4Addr>().is_ok() || address.parse::<Ipv6Addr>().is_ok() {
        return Some(Kind::Ip);
    }
    let key = key?;
    const NAMES: [&str; 9] = [
        "name",
        "description",
        "notes",
        "user",
        "username",
        "hostname",
        "dhcpHostname",
        "mdnsName",
        "address",
    ];
    if NAMES.contains(&key) || key.ends_with("Name") || key == "ssid" {
        return Some(Kind::Name);
    }
    if key == "id" || key.ends_with("Id") {
        return Some(Kind::Id);
    }
    None
}

fn is_serial(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    parts.len() == 3
        && parts.iter().all(|p| {
            p.len() == 4
                && p.bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        })
}

fn is_mac(text: &str) -> bool {
    let parts: Vec<&str> = text.split(':').collect();
    parts.len() == 6
        && parts
            .iter()
            .all(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn is_email(text: &str) -> bool {
    match text.split_once('@') {
        Some((user, domain)) => {
            !user.is_empty()
                && domain.contains('.')
                && !text.contains(char::is_whitespace)
                && !domain.contains('@')
        }
        None => false,
    }
}

/// A stand-in id of the same form: digits for digits, the same prefix for `N_...`/`L_...`.
fn id_like(original: &str, n: usize) -> String {
    if original.bytes().all(|b| b.is_ascii_digit()) {
        return format!("{}", 100_000 + n);
    }
    match original.split_once('_') {
        Some((prefix, _))
            if prefix.len() <= 2 && prefix.bytes().all(|b| b.is_ascii_uppercase()) =>
        {
            format!("{prefix}_{}", 100_000 + n)
        }
        _ => format!("id{n}"),
    }
}

fn percent_decode(segment: &str) -> String {
    percent_encoding::percent_decode_str(segment)
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{RecordedRequest, RecordedResponse};
    use serde_json::json;

    fn fixture(path: &str, link: Option<&str>, body: Value) -> Fixture {
        Fixture {
            description: String::new(),
            request: RecordedRequest {
                method: "GET".into(),
                path: path.into(),
                query: vec![("serials[]".into(), "Q2AB-CD34-EF56".into())],
                headers: Default::default(),
            },
            response: RecordedResponse {
                status: 200,
                headers: link
                    .map(|l| [("link".to_owned(), l.to_owned())].into())
                    .unwrap_or_default(),
                body,
            },
            source: None,
        }
    }

    #[test]
    fn the_same_value_becomes_the_same_stand_in_everywhere() {
        let mut fixtures = vec![
            fixture(
                "/api/v1/organizations/681155/devices",
                Some("<https://n1.meraki.com/api/v1/organizations/681155/devices?startingAfter=Q2AB-CD34-EF56>; rel=next"),
                json!([{
                    "serial": "Q2AB-CD34-EF56", "mac": "e0:55:3d:10:ab:cd",
                    "networkId": "L_646829496481105433", "name": "Lobby AP",
                    "lanIp": "172.16.4.21", "notes": "by the door", "email": "ops@acme.example",
                    "model": "MR46", "tags": ["lobby"]
                }]),
            ),
            fixture(
                "/api/v1/networks/L_646829496481105433/clients",
                None,
                json!([{"recentDeviceSerial": "Q2AB-CD34-EF56", "ip": "172.16.4.21", "vlan": "100"}]),
            ),
        ];
        Anonymizer::default().fixtures(&mut fixtures);
        let text = serde_json::to_string(&fixtures).unwrap();
        for gone in [
            "681155",
            "Q2AB-CD34-EF56",
            "e0:55:3d:10:ab:cd",
            "646829496481105433",
            "Lobby AP",
            "172.16.4.21",
            "by the door",
            "ops@acme.example",
        ] {
            assert!(!text.contains(gone), "{gone} in {text}");
        }
        for kept in ["MR46", "lobby", "\"100\""] {
            assert!(text.contains(kept), "{kept} not in {text}");
        }
        // Consistent: the device's serial is the client's recent device, in the path of the
        // other request, in the query and in the Link's cursor.
        let device = &fixtures[0].response.body[0];
        let serial = device["serial"].as_str().unwrap();
        assert_eq!(fixtures[1].response.body[0]["recentDeviceSerial"], serial);
        assert_eq!(fixtures[0].request.query[0].1, serial);
        assert!(fixtures[0].response.headers["link"].contains(serial));
        let network = device["networkId"].as_str().unwrap();
        assert!(network.starts_with("L_"));
        assert_eq!(
            fixtures[1].request.path,
            format!("/api/v1/networks/{network}/clients")
        );
        assert_eq!(fixtures[1].response.body[0]["ip"], device["lanIp"]);
    }
}
