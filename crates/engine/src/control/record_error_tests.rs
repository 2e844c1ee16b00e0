use super::*;
use bollard_buildkit_proto::google::protobuf::Any;
use bollard_buildkit_proto::google::rpc::Status;

#[test]
fn a_failed_record_carries_its_source_lines_and_vertex() {
    let src = SourceDetail {
        info: Some(pb::SourceInfo {
            filename: "Dockerfile".into(),
            data: b"FROM busybox\nRUN false\n".to_vec(),
            ..pb::SourceInfo::default()
        }),
        ranges: vec![pb::Range {
            start: Some(pb::Position {
                line: 2,
                character: 0,
            }),
            end: Some(pb::Position {
                line: 2,
                character: 0,
            }),
        }],
    };
    let st = Status {
        code: 2,
        message: "process \"/bin/sh -c false\" did not complete successfully: exit code: 1".into(),
        details: vec![
            Any {
                type_url: "github.com/moby/buildkit/errdefs.Source".into(),
                value: src.encode_to_vec(),
            },
            Any {
                type_url: "github.com/moby/buildkit/errdefs.Vertex".into(),
                value: VertexDetail {
                    digest: "sha256:ab".into(),
                }
                .encode_to_vec(),
            },
        ],
    };
    let e = record_error(&st);
    let s = e.source.expect("source");
    assert_eq!(s.lines, [(2, 2)]);
    assert_eq!(s.filename, "Dockerfile");
    assert_eq!(e.vertex.as_deref(), Some("sha256:ab"));
}

#[test]
fn a_records_json_details_read_the_same() {
    // As BuildKit 0.13 stores a failed build's error in its record.
    let st = Status {
        code: 2,
        message: "exit code: 3".into(),
        details: vec![
            Any {
                type_url: "github.com/moby/buildkit/stack.Stack+json".into(),
                value: br#"{"frames":[]}"#.to_vec(),
            },
            Any {
                type_url: "github.com/moby/buildkit/errdefs.Source+json".into(),
                value: br#"{"info":{"filename":"Dockerfile","data":"RlJPTSBidXN5Ym94Cg==","language":"Dockerfile"},"ranges":[{"start":{"line":5},"end":{"line":6}}]}"#.to_vec(),
            },
            Any {
                type_url: "github.com/moby/buildkit/errdefs.Vertex+json".into(),
                value: br#"{"digest":"sha256:48"}"#.to_vec(),
            },
        ],
    };
    let e = record_error(&st);
    let s = e.source.expect("source");
    assert_eq!(s.lines, [(5, 6)]);
    assert_eq!(s.data, b"FROM busybox\n");
    assert_eq!(e.vertex.as_deref(), Some("sha256:48"));
}
