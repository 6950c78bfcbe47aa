//! `pg_roles`: the one role a session knows, its principal — a login role that can create
//! and administer nothing, as the principal can only read.

use async_trait::async_trait;
use datafusion_pg_catalog::pg_catalog::context::{PgCatalogContextProvider, Role};

#[derive(Debug, Clone)]
pub struct PrincipalRole {
    pub username: String,
}

#[async_trait]
impl PgCatalogContextProvider for PrincipalRole {
    async fn roles(&self) -> Vec<String> {
        vec![self.username.clone()]
    }

    async fn role(&self, name: &str) -> Option<Role> {
        (name == self.username).then(|| Role {
            name: name.to_string(),
            is_superuser: false,
            can_login: true,
            can_create_db: false,
            can_create_role: false,
            can_create_user: false,
            can_replication: false,
            grants: Vec::new(),
            inherited_roles: Vec::new(),
        })
    }
}
