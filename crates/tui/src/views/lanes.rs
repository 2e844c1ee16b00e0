//! The stage graph's edges drawn as lanes in a gutter left of the nodes, the way `git log
//! --graph` draws history: one vertical lane per (source stage, kind), tees where it feeds a
//! stage below, an arrow into each target. Pure: it returns characters and a kind per cell.

use stagescope_plan::{EdgeVia, PlanEdge};

/// What a gutter cell draws: a box-drawing character and the edge kind that owns it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cell {
    pub ch: char,
    pub via: Option<EdgeVia>,
    /// The lane joins two consecutive stages of the critical path.
    pub critical: bool,
}

const BLANK: Cell = Cell {
    ch: ' ',
    via: None,
    critical: false,
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gutter {
    /// Columns: the lanes, then one for the arrowhead.
    pub width: usize,
    /// One row per screen row of the whole graph (`node_rows` per stage).
    pub rows: Vec<Vec<Cell>>,
}

#[derive(Debug, Clone)]
struct Bus {
    from: usize,
    via: EdgeVia,
    targets: Vec<usize>,
    critical: Vec<bool>,
}

const UP: u8 = 1;
const DOWN: u8 = 2;
const LEFT: u8 = 4;
const RIGHT: u8 = 8;

fn box_char(flags: u8) -> char {
    match flags {
        f if f == DOWN | RIGHT => '┌',
        f if f == UP | RIGHT => '└',
        f if f == UP | DOWN | RIGHT => '├',
        f if f == UP | DOWN => '│',
        f if f == LEFT | RIGHT => '─',
        f if f == UP | DOWN | LEFT | RIGHT => '┼',
        f if f == DOWN | LEFT | RIGHT => '┬',
        f if f == UP | LEFT | RIGHT => '┴',
        f if f == UP | DOWN | LEFT => '┤',
        f if f == DOWN | LEFT => '┐',
        f if f == UP | LEFT => '┘',
        f if f == RIGHT || f == LEFT => '─',
        f if f == UP || f == DOWN => '│',
        _ => ' ',
    }
}

/// Lays out the edges of `stages` stages, each `node_rows` tall: edges arrive at a node's
/// first row and leave from its last, so a stage that both receives and feeds stays legible. None when more than `max_lanes` lanes would be needed: the caller then lists
/// the edges as text instead.
pub fn layout(
    edges: &[PlanEdge],
    stages: usize,
    node_rows: usize,
    critical_path: &[usize],
    max_lanes: usize,
) -> Option<Gutter> {
    let on_path = |a: usize, b: usize| critical_path.windows(2).any(|w| w[0] == a && w[1] == b);
    let mut buses: Vec<Bus> = Vec::new();
    for e in edges.iter().filter(|e| e.from < e.to && e.to < stages) {
        match buses
            .iter_mut()
            .find(|b| b.from == e.from && b.via == e.via)
        {
            Some(b) if b.targets.contains(&e.to) => {}
            Some(b) => {
                b.targets.push(e.to);
                b.critical.push(on_path(e.from, e.to));
            }
            None => buses.push(Bus {
                from: e.from,
                via: e.via,
                targets: vec![e.to],
                critical: vec![on_path(e.from, e.to)],
            }),
        }
    }
    for b in &mut buses {
        let mut pairs: Vec<(usize, bool)> = b
            .targets
            .iter()
            .copied()
            .zip(b.critical.iter().copied())
            .collect();
        pairs.sort_unstable();
        (b.targets, b.critical) = pairs.into_iter().unzip();
    }
    // Short spans first get the lanes nearest the nodes, so long edges go round them.
    buses.sort_by_key(|b| (b.targets.last().copied().unwrap_or(b.from) - b.from, b.from));
    let mut lane_of = Vec::with_capacity(buses.len());
    let mut lanes_end: Vec<usize> = Vec::new();
    let leave = |from: usize| from * node_rows + node_rows.saturating_sub(1);
    for b in &buses {
        let start = leave(b.from);
        let end = b.targets.last().copied().unwrap_or(b.from) * node_rows;
        let lane = match lanes_end.iter().position(|&last| last < start) {
            Some(l) => {
                lanes_end[l] = end;
                l
            }
            None => {
                lanes_end.push(end);
                lanes_end.len() - 1
            }
        };
        lane_of.push(lane);
    }
    let lanes = lanes_end.len();
    if lanes > max_lanes {
        return None;
    }
    let width = if lanes == 0 { 0 } else { lanes + 1 };
    let height = stages * node_rows;
    let mut flags = vec![vec![0u8; width]; height];
    let mut owner: Vec<Vec<Cell>> = vec![vec![BLANK; width]; height];
    // Lane 0 sits next to the nodes; the arrow column is the last one.
    let col = |lane: usize| lanes - 1 - lane;
    // Outer lanes first, so inner lanes (drawn later) own shared cells.
    let mut order: Vec<usize> = (0..buses.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(lane_of[i]));
    for i in order {
        let b = &buses[i];
        let c = col(lane_of[i]);
        let start = leave(b.from);
        let end = b.targets.last().copied().unwrap_or(b.from) * node_rows;
        let any_critical = b.critical.iter().any(|&x| x);
        let mut mark = |r: usize, c: usize, f: u8, critical: bool, ch: Option<char>| {
            flags[r][c] |= f;
            owner[r][c] = Cell {
                ch: ch.unwrap_or(' '),
                via: Some(b.via),
                critical,
            };
        };
        for r in start..=end {
            let mut f = 0;
            if r > start {
                f |= UP;
            }
            if r < end {
                f |= DOWN;
            }
            mark(r, c, f, any_critical, None);
        }
        let mut connect = |r: usize, arrow: char, critical: bool| {
            mark(r, c, RIGHT, critical, None);
            for cc in c + 1..width - 1 {
                mark(r, cc, LEFT | RIGHT, critical, None);
            }
            mark(r, width - 1, 0, critical, Some(arrow));
        };
        connect(start, '─', any_critical);
        for (t, crit) in b.targets.iter().zip(&b.critical) {
            connect(t * node_rows, '▶', *crit);
        }
    }
    let rows = flags
        .iter()
        .zip(owner)
        .map(|(fr, mut cells)| {
            for (c, f) in fr.iter().enumerate() {
                if c + 1 < width {
                    cells[c].ch = box_char(*f);
                } else if cells[c].ch == ' ' && cells[c].via.is_some() {
                    cells[c].ch = '─';
                }
            }
            cells
        })
        .collect();
    Some(Gutter { width, rows })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edge(from: usize, to: usize, via: EdgeVia) -> PlanEdge {
        PlanEdge {
            from,
            to,
            via,
            line: 1,
        }
    }

    fn picture(g: &Gutter) -> Vec<String> {
        g.rows
            .iter()
            .map(|r| {
                r.iter()
                    .map(|c| c.ch)
                    .collect::<String>()
                    .trim_end()
                    .to_string()
            })
            .collect()
    }

    #[test]
    fn a_diamond_draws_two_buses() {
        // 0 -> 1, 0 -> 2 (copy), 1 -> 3, 2 -> 3 (copy)
        let edges = [
            edge(0, 1, EdgeVia::From),
            edge(0, 2, EdgeVia::Copy),
            edge(1, 3, EdgeVia::Copy),
            edge(2, 3, EdgeVia::Copy),
        ];
        let g = layout(&edges, 4, 2, &[0, 1, 3], 6).expect("fits");
        insta::assert_snapshot!(picture(&g).join("\n"));
        assert_eq!(g.rows.len(), 8);
        assert!(
            g.rows[6].last().is_some_and(|c| c.ch == '▶'),
            "an arrow into stage 3"
        );
    }

    #[test]
    fn one_source_feeding_many_shares_a_lane() {
        let edges = [
            edge(0, 1, EdgeVia::Copy),
            edge(0, 2, EdgeVia::Copy),
            edge(0, 3, EdgeVia::Copy),
        ];
        let g = layout(&edges, 4, 2, &[], 6).expect("fits");
        assert_eq!(g.width, 2);
        assert_eq!(picture(&g), vec!["", "┌─", "├▶", "│", "├▶", "│", "└▶", ""]);
    }

    #[test]
    fn too_many_lanes_fall_back_to_text() {
        let edges: Vec<PlanEdge> = (0..10).map(|i| edge(i, 19 - i, EdgeVia::Copy)).collect();
        assert!(layout(&edges, 20, 2, &[], 4).is_none());
        assert!(layout(&[], 3, 2, &[], 4).is_some_and(|g| g.width == 0));
    }

    #[test]
    fn critical_edges_are_marked() {
        let edges = [edge(0, 1, EdgeVia::Copy), edge(0, 2, EdgeVia::Mount)];
        let g = layout(&edges, 3, 2, &[0, 2], 6).expect("fits");
        let crit_rows: Vec<usize> = g
            .rows
            .iter()
            .enumerate()
            .filter(|(_, r)| r.iter().any(|c| c.critical && c.ch == '▶'))
            .map(|(i, _)| i)
            .collect();
        assert_eq!(crit_rows, vec![4]);
    }
}
