//! The files pane's own update: its keys and its background answers, each returning the
//! work it asks of the event loop.

use super::*;

fn move_by(p: &mut FilesPane, delta: isize) {
    let n = p.rows_len();
    if let Some(pv) = &mut p.preview {
        let last = pv.len().saturating_sub(1);
        pv.top = pv.top.saturating_add_signed(delta).min(last);
        return;
    }
    if p.list.is_some() {
        let sel = &mut p.list_selected;
        *sel = sel.saturating_add_signed(delta).min(n.saturating_sub(1));
    } else {
        let sel = p.tree.selected().saturating_add_signed(delta);
        p.tree.select(sel);
    }
}

fn preview_cmd(p: &mut FilesPane) -> Vec<FilesCmd> {
    let (Some(ix), Some(id), Some(image)) = (&p.index, p.current(), &p.image) else {
        return vec![];
    };
    let e = ix.get(id);
    let path = e.path().to_vec();
    match e.kind() {
        Kind::File | Kind::Hardlink => {
            p.preview_pending = true;
            p.notice = Some(format!("fetching /{}…", escape(&path)));
            vec![FilesCmd::Preview {
                req: p.req,
                image: image.clone(),
                path,
            }]
        }
        Kind::Symlink => {
            let to = e.link().map(escape).unwrap_or_default();
            p.preview = Some(Preview::note(&path, format!("symbolic link to {to}")));
            vec![]
        }
        Kind::Dir => {
            let note = format!(
                "directory: {} entries, {} bytes in files",
                e.count().saturating_sub(1),
                e.total()
            );
            p.preview = Some(Preview::note(&path, note));
            vec![]
        }
        Kind::Other => {
            p.preview = Some(Preview::note(&path, "special file".into()));
            vec![]
        }
    }
}

fn submit(p: &mut FilesPane) -> Vec<FilesCmd> {
    let Some((kind, text)) = p.input.take() else {
        return vec![];
    };
    match kind {
        InputKind::Filter => {
            let Some(ix) = p.index.clone() else {
                return vec![];
            };
            if text.is_empty() {
                p.filter = None;
                p.tree.set_filter(&ix, None);
            } else {
                match Filter::parse(&text) {
                    Ok(f) => {
                        p.tree.set_filter(&ix, Some(&f));
                        p.filter = Some(text);
                        p.list = None;
                        if p.tree.rows().is_empty() {
                            p.notice = Some("no match".into());
                        }
                    }
                    Err(e) => p.notice = Some(format!("bad pattern: {e}")),
                }
            }
            vec![]
        }
        InputKind::Extract => {
            let (Some(ix), Some(id), Some(image)) = (&p.index, p.current(), &p.image) else {
                return vec![];
            };
            if text.trim().is_empty() {
                return vec![];
            }
            let path = ix.get(id).path().to_vec();
            p.notice = Some(format!("extracting /{}…", escape(&path)));
            vec![FilesCmd::Extract {
                req: p.req,
                image: image.clone(),
                path,
                dest: text,
            }]
        }
    }
}

/// Enter on a wasted copy: the tree, on its path when the image still shows it, else on
/// the nearest directory above that it shows.
fn reveal_wasted(p: &mut FilesPane) {
    let (Some(List::Waste(w)), Some(ix)) = (&p.list, p.index.clone()) else {
        return;
    };
    let Some(path) = w.raw_path(p.list_selected).map(<[u8]>::to_vec) else {
        return;
    };
    let mut at: &[u8] = &path;
    let id = loop {
        if let Some(id) = ix.lookup(at) {
            break id;
        }
        match at.iter().rposition(|&b| b == b'/') {
            Some(i) => at = &at[..i],
            None => break stagescope_fs::index::ROOT,
        }
    };
    if at.len() < path.len() {
        p.notice = Some(format!(
            "/{} is not in this image any more: its directory /{}",
            escape(&path),
            escape(at)
        ));
    }
    if p.filter.take().is_some() {
        p.tree.set_filter(&ix, None);
    }
    p.list = None;
    p.list_selected = 0;
    p.tree.reveal(&ix, id);
}

impl FilesPane {
    /// A background answer; one for another request (a closed pane, an earlier open) is
    /// stale and dropped.
    pub(crate) fn on_msg(&mut self, msg: FilesMsg) -> Vec<FilesCmd> {
        let p = self;
        if p.req != req_of(&msg) {
            return vec![];
        }
        match msg {
            FilesMsg::Image { image, .. } => p.image = Some(image),
            FilesMsg::Progress {
                progress, snapshot, ..
            } => {
                p.progress = progress;
                if let Some(ix) = snapshot.filter(|_| p.loading) {
                    p.set_index(ix);
                }
            }
            FilesMsg::Indexed {
                result,
                from_cache,
                waste,
                ..
            } => {
                p.loading = false;
                p.from_cache = from_cache;
                match result {
                    Ok(ix) => {
                        p.progress = ix.progress();
                        p.waste = waste;
                        p.set_index(ix);
                        return layers_cmd(p);
                    }
                    Err(e) => p.error = Some(e.to_string()),
                }
            }
            FilesMsg::Layers { result, .. } => match result {
                Ok(l) => {
                    p.layers = Some(l);
                    match p.list {
                        Some(List::Changes(_)) => p.list = p.changes(),
                        // The copies get their instructions' names.
                        Some(List::Waste(_)) => p.list = p.waste_list().map(List::Waste),
                        _ => {}
                    }
                }
                Err(e) => p.layers_error = Some(e.to_string()),
            },
            FilesMsg::Preview { result, .. } => {
                p.preview_pending = false;
                match result {
                    Ok(pv) => p.preview = Some(pv),
                    Err(e) => p.notice = Some(e.to_string()),
                }
            }
            FilesMsg::Extracted { result, .. } => {
                p.notice = Some(match result {
                    Ok(wrote) => wrote,
                    Err(e) => e.to_string(),
                })
            }
        }
        vec![]
    }

    /// A key of the pane; `page` rows make a page. [`FilesCmd::Cancel`]: the pane closed.
    pub(crate) fn on_key(&mut self, key: FilesKey, page: isize) -> Vec<FilesCmd> {
        use FilesKey as F;
        let p = self;
        p.notice = None;
        match key {
            F::Close => {
                if p.preview.take().is_some() {
                } else if p.list.take().is_some() {
                    p.list_selected = 0;
                } else if p.filter.is_some() {
                    p.filter = None;
                    if let Some(ix) = &p.index {
                        p.tree.set_filter(ix, None);
                    }
                } else {
                    return vec![FilesCmd::Cancel];
                }
            }
            F::Up => move_by(p, -1),
            F::Down => move_by(p, 1),
            F::PageUp => move_by(p, -page),
            F::PageDown => move_by(p, page),
            F::Top => move_by(p, isize::MIN / 2),
            F::Bottom => move_by(p, isize::MAX / 2),
            F::Activate if matches!(p.list, Some(List::Waste(_))) => reveal_wasted(p),
            F::Activate | F::Expand | F::Collapse if p.list.is_some() => {
                if key == F::Activate {
                    return preview_cmd(p);
                }
            }
            F::Activate => match (p.tree.selected_row(), &p.index) {
                (Some(r), Some(ix)) if r.has_children => p.tree.toggle(ix, p.tree.selected()),
                (Some(_), Some(_)) => return preview_cmd(p),
                _ => {}
            },
            F::Expand => {
                if let Some(ix) = &p.index {
                    p.tree.expand(ix, p.tree.selected());
                }
            }
            F::Collapse => {
                if let Some(ix) = &p.index {
                    p.tree.collapse_or_parent(ix);
                }
            }
            F::Preview => return preview_cmd(p),
            F::ToggleSort => {
                if let Some(ix) = &p.index {
                    let sort = match p.tree.sort() {
                        SortBy::Name => SortBy::Size,
                        SortBy::Size => SortBy::Name,
                    };
                    p.tree.set_sort(ix, sort);
                }
            }
            F::ExpandAll => {
                if let Some(ix) = &p.index {
                    p.tree.expand_all(ix);
                }
            }
            F::CollapseAll => {
                if let Some(ix) = &p.index {
                    p.tree.collapse_all(ix);
                    p.tree.select(0);
                }
            }
            F::Largest => {
                if matches!(p.list, Some(List::Largest(_))) {
                    p.list = None;
                } else if let Some(ix) = &p.index {
                    p.list = Some(List::Largest(largest_files(ix, LARGEST)));
                    p.list_selected = 0;
                }
            }
            F::Changes => {
                if matches!(p.list, Some(List::Changes(_))) {
                    p.list = None;
                } else if p.layers.is_none() {
                    p.notice = Some(match &p.layers_error {
                        Some(e) => format!("no layer attribution: {e}"),
                        None => "the layers are still being read…".into(),
                    });
                } else {
                    match p.changes() {
                        Some(list) => {
                            p.list = Some(list);
                            p.list_selected = 0;
                        }
                        None => p.notice = Some("that instruction made no layer".into()),
                    }
                }
            }
            F::Waste => {
                if matches!(p.list, Some(List::Waste(_))) {
                    p.list = None;
                } else if p.index.is_none() || p.loading {
                    p.notice = Some("the files are still being read…".into());
                } else {
                    match p.waste_list() {
                        Some(w) => {
                            p.list = Some(List::Waste(w));
                            p.list_selected = 0;
                        }
                        None => {
                            p.notice = Some(
                                "no waste known for this image: it came as one flattened \
                                 export, with no layers to count"
                                    .into(),
                            )
                        }
                    }
                }
            }
            F::StartFilter => {
                p.input = Some((InputKind::Filter, p.filter.clone().unwrap_or_default()));
            }
            F::StartExtract => match (p.current(), &p.index) {
                (Some(id), Some(ix))
                    if matches!(ix.get(id).kind(), Kind::File | Kind::Hardlink) =>
                {
                    p.input = Some((InputKind::Extract, String::new()));
                }
                _ => p.notice = Some("only a file can be extracted".into()),
            },
            F::Input(c) => {
                if let Some((_, s)) = &mut p.input {
                    s.push(c);
                }
            }
            F::Backspace => {
                if let Some((_, s)) = &mut p.input {
                    s.pop();
                }
            }
            F::Cancel => p.input = None,
            F::Submit => return submit(p),
        }
        vec![]
    }
}
