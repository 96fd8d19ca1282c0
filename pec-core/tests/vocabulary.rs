//! One vocabulary (issue 13): the providers index is "index" in every public name. The older
//! `Directory` names stay; the index names are the same items.

use std::sync::Arc;

use pec_core::error::{DirectoryError, IndexError};
use pec_core::index::{
    Directory, Index, ProviderDirectory, ProviderIndex, ProviderRecord, RefreshingDirectory,
    RefreshingIndex,
};

#[test]
fn index_names_are_the_directory_items() {
    let record = ProviderRecord {
        dn: "providerName=X,o=postacert".into(),
        name: "X".into(),
        mail_receipt: "r@pec.x.example".into(),
        managed_domains: vec!["pec.x.example".into()],
        ..ProviderRecord::default()
    };
    let index: Index = Directory::from_records(vec![record]).unwrap();
    let dir: Directory = index;
    let as_index: Arc<dyn ProviderIndex> = Arc::new(dir);
    let as_directory: Arc<dyn ProviderDirectory> = as_index;
    assert_eq!(as_directory.by_domain("PEC.X.example").unwrap().name, "X");
    // the same types: a function over one accepts the other
    fn refreshing(r: Option<&RefreshingDirectory>) -> Option<&RefreshingIndex> {
        r
    }
    assert!(refreshing(None).is_none());
    let e: IndexError = DirectoryError::Ldif { line: 1, message: "x".into() };
    assert_eq!(pec_core::Error::from(e).code(), pec_core::Code::LdifMalformed);
}
