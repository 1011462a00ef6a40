//! The User-Agent Meraki asks integrations to send.

use crate::error::{ConfigError, Error};

/// Meraki's user-agent guide: `ApplicationName VendorName` or `ApplicationName/1.0
/// VendorName`; names without spaces, hyphens or special characters; a version of letters,
/// digits and dots (`0.8b`, `2.5`).
fn valid_caller(caller: &str) -> bool {
    let name = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric());
    let version = |s: &str| {
        !s.is_empty()
            && s.chars().any(|c| c.is_ascii_alphanumeric())
            && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '.')
    };
    let Some((app, vendor)) = caller.split_once(' ') else {
        return false;
    };
    let app_ok = match app.split_once('/') {
        Some((app, v)) => name(app) && version(v),
        None => name(app),
    };
    app_ok && name(vendor)
}

/// `meraki-api-rust/<version> Caller/(<caller>)`, following Meraki's convention.
pub(super) fn user_agent(caller: Option<&str>) -> Result<String, Error> {
    let library = concat!("meraki-api-rust/", env!("CARGO_PKG_VERSION"));
    let Some(caller) = caller else {
        return Ok(format!("{library} Caller/(unidentified)"));
    };
    if !valid_caller(caller) {
        return Err(Error::Config(ConfigError::new(
            "caller",
            format!(
                "`{caller}` should be `ApplicationName VendorName` or `ApplicationName/1.0 \
                 VendorName`, names of letters and digits only (no spaces, hyphens or other \
                 characters), as Meraki's user-agent guide asks: `PlanetCraftLite/0.8b \
                 LunarCommander`"
            ),
        )));
    }
    Ok(format!("{library} Caller/({caller})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_agent_follows_meraki_convention() {
        assert_eq!(
            user_agent(Some("InventorySync/2.1 Acme")).unwrap(),
            format!(
                "meraki-api-rust/{} Caller/(InventorySync/2.1 Acme)",
                env!("CARGO_PKG_VERSION")
            )
        );
        assert!(user_agent(None).unwrap().ends_with("Caller/(unidentified)"));
        // The guide's own examples.
        for good in [
            "PlanetCraftLite LunarCommander",
            "PlanetCraftLite/0.8b LunarCommander",
            "BurrowFinder/2.5 HappyRabbitProductions",
        ] {
            assert!(user_agent(Some(good)).is_ok(), "{good:?}");
        }
        for bad in [
            "",
            "App/1.0",
            "App/1.0 Ac me",
            "App/1.0 Acme\n",
            "Burrow-Finder HappyRabbitProductions",
            "BurrowFinder Happy_Rabbit",
            "App\\1.0 Vendor",
            "App/ Vendor",
            "App/1.0/2 Vendor",
        ] {
            let err = user_agent(Some(bad)).unwrap_err().to_string();
            assert!(err.contains("ApplicationName/1.0 VendorName"), "{err}");
        }
    }
}
