use bollard::Docker;
use bollard::models::BuildInfoAux;
use futures_util::StreamExt;
#[tokio::main]
async fn main() {
    let dir = std::env::args().nth(1).unwrap();
    let v2 = std::env::args().nth(2).as_deref() == Some("bk");
    let docker = Docker::connect_with_local_defaults().unwrap().negotiate_version().await.unwrap();
    let mut tar = tar::Builder::new(Vec::new());
    tar.append_dir_all(".", &dir).unwrap();
    let body = tar.into_inner().unwrap();
    let mut o = bollard::query_parameters::BuildImageOptionsBuilder::default().dockerfile("Dockerfile").t("exp1:latest").rm(true).forcerm(true);
    if v2 { o = o.version(bollard::query_parameters::BuilderVersion::BuilderBuildKit).session(&uuid::Uuid::new_v4().to_string()); }
    let mut s = docker.build_image(o.build(), None, Some(bollard::body_full(body.into())));
    while let Some(m) = s.next().await {
        match m {
            Ok(bollard::models::BuildInfo { aux: Some(BuildInfoAux::BuildKit(r)), .. }) => {
                for v in r.vertexes { println!("V {} name={:?} cached={} started={} completed={} err={:?} inputs={}", &v.digest[7..19], v.name, v.cached, v.started.is_some(), v.completed.is_some(), v.error, v.inputs.len()); }
                for st in r.statuses { println!("S {} {} {}/{}", &st.vertex[7..19], st.id, st.current, st.total); }
                for l in r.logs { println!("L {} {} {:?}", &l.vertex[7..19], l.stream, String::from_utf8_lossy(&l.msg)); }
            }
            other => println!("{:?}", other),
        }
    }
}
