//! Recordings of real answers (`tests/fixtures/recorded`, fixtures with a `source`): each decodes
//! into its operation's type, so a spec that is wrong about what the live API sends fails here,
//! naming the correction to add (`cargo xtask conform tests/fixtures` proposes it).

use meraki_api::test_util::{decode_as_output, Fixture};
use meraki_api_tests::fixtures_dir;

#[test]
fn every_recording_of_a_real_answer_decodes_into_its_type() {
    let root = fixtures_dir().join("recorded");
    let mut checked = 0;
    for operation in std::fs::read_dir(&root).unwrap() {
        let dir = operation.unwrap().path();
        if !dir.is_dir() {
            continue;
        }
        let operation_id = dir.file_name().unwrap().to_string_lossy().into_owned();
        for fixture in Fixture::load_dir(&dir).unwrap() {
            if fixture.source.is_none() || !(200..300).contains(&fixture.response.status) {
                continue;
            }
            let body = serde_json::to_vec(&fixture.response.body).unwrap();
            match decode_as_output(&operation_id, &body) {
                Some(Ok(_)) => checked += 1,
                Some(Err(e)) => panic!(
                    "{}: {operation_id} does not decode ({e}): the spec is wrong about this \
                     answer; `cargo xtask conform tests/fixtures` proposes the entry to add to \
                     openapi/corrections.yaml",
                    dir.display()
                ),
                None => panic!(
                    "{operation_id}: its API area is not compiled in the tests (tests/Cargo.toml \
                     features)"
                ),
            }
        }
    }
    assert!(
        checked > 0,
        "no recording of a real answer under {}",
        root.display()
    );
}
