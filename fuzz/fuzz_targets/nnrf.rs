//! Nnrf bodies (`akma-sbi-model::nnrf`): NF profiles (nested lists and maps), discovery
//! answers and token request forms. Any bytes validate or give an error, never a panic; a
//! profile that validated serialises to a body that validates to the same profile; a token
//! request that was accepted re-encodes to a form accepted as the same request.
#![no_main]

use akma_sbi_model::nnrf::{AccessTokenReq, NfProfile, SearchResult};
use akma_sbi_model::FromSbiJson;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = NfProfile::from_sbi_slice(data) {
        let out = serde_json::to_vec(&p).expect("a valid profile serialises");
        assert_eq!(NfProfile::from_sbi_slice(&out).ok().as_ref(), Some(&p));
    }
    let _ = serde_json::from_slice::<SearchResult>(data);
    if let Ok(s) = std::str::from_utf8(data) {
        let pairs: Vec<(String, String)> = s
            .split('&')
            .map(|kv| match kv.split_once('=') {
                Some((k, v)) => (k.to_owned(), v.to_owned()),
                None => (kv.to_owned(), String::new()),
            })
            .collect();
        if let Ok(r) = AccessTokenReq::from_pairs(&pairs) {
            let again: Vec<(String, String)> = r
                .to_form()
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect();
            assert_eq!(AccessTokenReq::from_pairs(&again).ok().as_ref(), Some(&r));
        }
    }
});
