//! Uses the packaged meraki-api against a local simulated Dashboard: a network call (the
//! `networks` area, not a default one), paced by its organization after one lookup.

use meraki_api::prelude::*;
use meraki_api::test_util::SimulatedDashboard;

#[tokio::main]
async fn main() -> Result<(), meraki_api::Error> {
    let dashboard = SimulatedDashboard::builder()
        .organization("549236", 3, 2)
        .start()
        .await;
    let client = dashboard.client();
    for network in dashboard.networks("549236") {
        let devices = client
            .get_network_devices()
            .network_id(network.as_str())
            .call()
            .await?;
        println!("{network}: {} devices", devices.len());
    }
    let stats = client.stats();
    println!(
        "requests {}, lookups {}, organization of N_549236_2: {:?}",
        stats.requests,
        stats.lookups,
        client.directory().network_organization("N_549236_2")
    );
    Ok(())
}
