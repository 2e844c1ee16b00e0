//! Build secrets (`--secret id=…,src=…`, as `docker buildx build` spells them): the session's
//! `moby.buildkit.secrets.v1.Secrets` service answers a `RUN --mount=type=secret` with the
//! file's or the variable's value, read when the build asks, never stored.

use std::collections::HashMap;
use std::path::PathBuf;

use bollard_buildkit_proto::moby::buildkit::secrets::v1::secrets_server::Secrets;
use bollard_buildkit_proto::moby::buildkit::secrets::v1::{GetSecretRequest, GetSecretResponse};
use tonic::{Request, Response, Status};

/// Where one secret's value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    File(PathBuf),
    Env(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretSpec {
    pub id: String,
    pub source: SecretSource,
}

impl SecretSpec {
    /// `id=NAME,src=FILE`, `id=NAME,env=VAR`, `type=env,id=NAME` (the variable named as the
    /// id), `id=NAME` alone (the variable NAME when it is set, else the file NAME), as buildx
    /// reads them.
    pub fn parse(spec: &str) -> Result<SecretSpec, String> {
        let mut id = None;
        let mut kind = None;
        let mut src = None;
        let mut env = None;
        for field in spec.split(',').filter(|f| !f.is_empty()) {
            let (key, value) = field.split_once('=').ok_or_else(|| {
                format!("--secret {spec}: {field:?} is not key=value (id=NAME,src=FILE)")
            })?;
            match key.trim().to_ascii_lowercase().as_str() {
                "id" => id = Some(value.to_string()),
                "type" => match value {
                    "file" | "env" => kind = Some(value.to_string()),
                    _ => {
                        return Err(format!(
                            "--secret {spec}: type is file or env, not {value:?}"
                        ));
                    }
                },
                "src" | "source" => src = Some(value.to_string()),
                "env" => env = Some(value.to_string()),
                other => return Err(format!("--secret {spec}: unknown key {other:?}")),
            }
        }
        let id = id
            .filter(|i| !i.is_empty())
            .ok_or_else(|| format!("--secret {spec}: no id= (id=NAME,src=FILE)"))?;
        let source = match (kind.as_deref(), src, env) {
            (Some("env"), src, env) => SecretSource::Env(env.or(src).unwrap_or_else(|| id.clone())),
            (_, _, Some(var)) => SecretSource::Env(var),
            (_, Some(path), None) => SecretSource::File(PathBuf::from(path)),
            (Some("file"), None, None) => SecretSource::File(PathBuf::from(&id)),
            (_, None, None) if std::env::var_os(&id).is_some() => SecretSource::Env(id.clone()),
            (_, None, None) => SecretSource::File(PathBuf::from(&id)),
        };
        if let SecretSource::File(path) = &source
            && !path.is_file()
        {
            return Err(format!(
                "--secret {spec}: {} is not a readable file",
                path.display()
            ));
        }
        Ok(SecretSpec { id, source })
    }
}

/// The secrets a session offers, by id.
#[derive(Debug, Clone, Default)]
pub(crate) struct SecretStore(HashMap<String, SecretSource>);

impl SecretStore {
    pub(crate) fn new(specs: &[SecretSpec]) -> Self {
        SecretStore(
            specs
                .iter()
                .map(|s| (s.id.clone(), s.source.clone()))
                .collect(),
        )
    }
}

#[tonic::async_trait]
impl Secrets for SecretStore {
    async fn get_secret(
        &self,
        request: Request<GetSecretRequest>,
    ) -> Result<Response<GetSecretResponse>, Status> {
        let id = &request.get_ref().id;
        // BuildKit treats NotFound as "no such secret" (a `required=false` mount goes on).
        let data =
            match self.0.get(id) {
                None => return Err(Status::not_found(format!("secret {id} not found"))),
                Some(SecretSource::Env(var)) => std::env::var_os(var)
                    .map(|v| v.into_encoded_bytes())
                    .ok_or_else(|| Status::not_found(format!("secret {id}: ${var} is not set")))?,
                Some(SecretSource::File(path)) => tokio::fs::read(path).await.map_err(|e| {
                    Status::not_found(format!("secret {id}: {}: {e}", path.display()))
                })?,
            };
        Ok(Response::new(GetSecretResponse { data }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_read_as_buildx_reads_them() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("token");
        std::fs::write(&file, "s3cret").unwrap();
        let f = file.display();
        assert_eq!(
            SecretSpec::parse(&format!("id=tok,src={f}"))
                .unwrap()
                .source,
            SecretSource::File(file.clone())
        );
        assert_eq!(
            SecretSpec::parse(&format!("id=tok,source={f},type=file"))
                .unwrap()
                .source,
            SecretSource::File(file.clone())
        );
        assert_eq!(
            SecretSpec::parse("id=tok,env=HOME").unwrap().source,
            SecretSource::Env("HOME".into())
        );
        assert_eq!(
            SecretSpec::parse("type=env,id=PATH").unwrap().source,
            SecretSource::Env("PATH".into())
        );
        assert_eq!(
            SecretSpec::parse("id=PATH").unwrap().source,
            SecretSource::Env("PATH".into())
        );
        for bad in [
            "src=/etc/hostname",
            "id=x,src=/no/such/file",
            "id=x,type=ssh",
            "id=x,colour=red",
            "novalue",
        ] {
            let e = SecretSpec::parse(bad).unwrap_err();
            assert!(e.starts_with("--secret "), "{e}");
        }
    }
}
