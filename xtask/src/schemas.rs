//! Shared, named schemas: every object, enum and union schema of the merged document moves to
//! `components/schemas` under a readable name, and each use becomes a `$ref`.
//!
//! Meraki publishes every schema inline, so the same VLAN or firewall rule is written out again
//! for each operation, and a generator names each copy after where it sits
//! (`GetOrganizationDevicesCellularDataProfilesResponseItemsItemRulesItemActionsItemType`).
//! Deciding here which schemas are one type, and what it is called, puts both decisions in the
//! committed `openapi.yaml`, where a maintainer reviews them.
//!
//! **Same type.** Two schemas are one type when they are equal with descriptions, titles and
//! examples left out, after their own nested schemas have been replaced by their types, and
//! they are used on the same side: a request schema never shares a type with a response one
//! (response enums are open, request enums strict: `x-open-enum`).
//!
//! **Names** come from the API's own nouns. An operation's noun is its operationId without the
//! verb and the leading `Organization`/`Network`/`Device` (`getOrganizationLicenses` →
//! `Licenses`); a list's items take the singular (`License`). That is what `get`, `create` and
//! `update` return; other verbs return `{Verb}{Noun}Response` (`RebootDeviceResponse`). A request body is
//! `{Verb}{Noun}Request`, a query parameter's type `{Verb}{Noun}{Parameter}`. A nested schema is
//! its parent's name followed by its property (singular for list items: `CellularDataProfile`
//! → `rules` → `CellularDataProfileRule`; the `items` of a page take the parent's singular). A
//! type used in several places is named by the words all its uses end with (`Meta`), if that
//! says enough (an enum needs two words). Names over 34 characters drop leading words of the
//! parent. Where two types would get one name, both take their next longer candidate (more of
//! the parent, then the scope, then the verb), never over 60 characters; a number is the last
//! resort. Names are made in rounds, parents before children, so a child follows its parent.
//!
//! **Renames** live in `openapi/type-names.txt`, one `RuleName = ChosenName` per line; a child
//! named after a renamed parent follows it. An entry that matches no type is an error, so the
//! file cannot silently go stale.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use serde_json::{Map, Value};

/// The default names file, relative to the workspace root.
pub const NAMES_FILE: &str = "openapi/type-names.txt";

/// Names over this many characters drop leading words of the parent when they can.
const PREFERRED_LENGTH: usize = 34;
/// No name is longer.
const MAX_LENGTH: usize = 60;
/// Names that would shadow what generated code uses unqualified.
const RESERVED: [&str; 8] = [
    "Option", "Result", "Vec", "String", "Box", "Client", "Error", "Value",
];

/// The maintainer's renames: `RuleName = ChosenName`.
#[derive(Debug, Default, Clone)]
pub struct Renames(BTreeMap<String, String>);

impl Renames {
    /// Reads a names file; a missing file is no renames.
    pub fn load(path: &Path) -> Result<Self, String> {
        match std::fs::read_to_string(path) {
            Ok(text) => Self::parse(&text).map_err(|e| format!("{}: {e}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(format!("cannot read {}: {e}", path.display())),
        }
    }

    /// One `RuleName = ChosenName` per line; `#` starts a comment.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut renames = BTreeMap::new();
        for (number, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let (from, to) = line
                .split_once('=')
                .map(|(a, b)| (a.trim(), b.trim()))
                .filter(|(a, b)| is_type_name(a) && is_type_name(b))
                .ok_or_else(|| {
                    format!(
                        "line {}: expected `RuleName = ChosenName` (two PascalCase names), found `{line}`",
                        number + 1
                    )
                })?;
            if renames.insert(from.to_owned(), to.to_owned()).is_some() {
                return Err(format!("line {}: `{from}` is renamed twice", number + 1));
            }
        }
        Ok(Self(renames))
    }
}

/// A name a generator keeps as it is: PascalCase letters and digits.
fn is_type_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_uppercase())
        && name.chars().all(|c| c.is_ascii_alphanumeric())
}

/// What sharing did, for the summary and the tests.
#[derive(Debug, Default)]
pub struct Report {
    /// Schemas in `components/schemas`.
    pub types: usize,
    /// Places that now `$ref` one of them.
    pub uses: usize,
    /// Names taken from the names file.
    pub renamed: usize,
    /// Names-file entries that matched no type (`cargo xtask generate` refuses them).
    pub unused_renames: Vec<String>,
}

/// Moves every object, enum and union schema of the operations into `components/schemas`.
pub fn share_schemas(document: &mut Value, renames: &Renames) -> Result<Report, String> {
    let mut sharing = Sharing::default();
    let Some(paths) = document.get_mut("paths").and_then(Value::as_object_mut) else {
        return Ok(Report::default());
    };
    for methods in paths.values_mut() {
        for operation in methods
            .as_object_mut()
            .into_iter()
            .flat_map(|m| m.values_mut())
        {
            let Some(operation) = operation.as_object_mut() else {
                continue;
            };
            let Some(id) = operation.get("operationId").and_then(Value::as_str) else {
                continue;
            };
            let noun = OperationNoun::new(id);
            sharing.operation(operation, &noun);
        }
    }
    let (names, unused_renames) = sharing.name_groups(renames)?;
    let uses = sharing.groups.iter().map(|g| g.uses.len()).sum();
    let mut schemas = BTreeMap::new();
    let described: Vec<Option<String>> = sharing
        .groups
        .iter()
        .map(|group| where_used(group, &names))
        .collect();
    for ((group, name), place) in sharing.groups.iter_mut().zip(&names).zip(described) {
        let mut schema = std::mem::take(&mut group.schema);
        // A type the spec does not describe says where it is used: its docs are never only
        // its name.
        if let (Some(object), Some(place)) = (schema.as_object_mut(), place) {
            let described = object
                .get("description")
                .and_then(Value::as_str)
                .is_some_and(|d| !d.trim().is_empty());
            if !described {
                object.insert("description".to_owned(), Value::String(place));
            }
        }
        resolve_placeholders(&mut schema, &names);
        schemas.insert(name.clone(), schema);
    }
    resolve_placeholders(document, &names);
    let components = document
        .as_object_mut()
        .ok_or("the document is not an object")?
        .entry("components")
        .or_insert_with(|| Value::Object(Map::new()));
    let schemas_value = Value::Object(schemas.into_iter().collect());
    components
        .as_object_mut()
        .ok_or("`components` is not an object")?
        .insert("schemas".to_owned(), schemas_value);
    Ok(Report {
        types: names.len(),
        uses,
        // Each rename that matched renamed exactly one type (names are unique).
        renamed: renames.0.len() - unused_renames.len(),
        unused_renames,
    })
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
enum Side {
    Request,
    Response,
}

/// One type: its schema (from its first use) and every place it is used.
struct Group {
    schema: Value,
    is_enum: bool,
    uses: Vec<Use>,
}

/// Where a type is used: under another type, or at an operation's top level.
struct Use {
    base: Base,
    /// Words after the base (property names, `Value` for a map's values, ...).
    words: Vec<String>,
    /// A list's items: the base's last word in the singular.
    singular: bool,
}

enum Base {
    /// Not known until the enclosing schema is grouped (it is grouped after what it holds).
    Pending,
    Group(usize),
    Root(Root),
}

#[derive(Clone)]
enum Root {
    Response(OperationNoun),
    Request(OperationNoun),
    Parameter(OperationNoun, Vec<String>),
}

#[derive(Default)]
struct Sharing {
    groups: Vec<Group>,
    by_shape: HashMap<String, usize>,
}

/// Where a schema sits relative to the nearest schema that becomes a type.
#[derive(Clone, Default)]
struct Position {
    words: Vec<String>,
    singular: bool,
}

impl Position {
    fn then(&self, words: Vec<String>) -> Self {
        let mut next = self.clone();
        next.words.extend(words);
        next
    }

    fn items(&self) -> Self {
        let mut next = self.clone();
        if !next.words.is_empty() || next.singular {
            to_singular(&mut next.words);
        } else {
            next.singular = true;
        }
        next
    }
}

impl Sharing {
    fn operation(&mut self, operation: &mut Map<String, Value>, noun: &OperationNoun) {
        for parameter in operation
            .get_mut("parameters")
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
        {
            let name = parameter
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("parameter");
            let root = Root::Parameter(noun.clone(), words(name.trim_end_matches("[]")));
            if let Some(schema) = parameter.get_mut("schema") {
                self.root(schema, Side::Request, root);
            }
        }
        let bodies = operation
            .get_mut("requestBody")
            .and_then(|b| b.get_mut("content"))
            .and_then(Value::as_object_mut);
        for media in bodies.into_iter().flat_map(|c| c.values_mut()) {
            if let Some(schema) = media.get_mut("schema") {
                self.root(schema, Side::Request, Root::Request(noun.clone()));
            }
        }
        let responses = operation
            .get_mut("responses")
            .and_then(Value::as_object_mut);
        for response in responses.into_iter().flat_map(|r| r.values_mut()) {
            let content = response.get_mut("content").and_then(Value::as_object_mut);
            for media in content.into_iter().flat_map(|c| c.values_mut()) {
                if let Some(schema) = media.get_mut("schema") {
                    self.root(schema, Side::Response, Root::Response(noun.clone()));
                }
            }
        }
    }

    fn root(&mut self, schema: &mut Value, side: Side, root: Root) {
        let mut pending = Vec::new();
        self.walk(schema, side, Position::default(), &mut pending);
        for (group, index) in pending {
            self.groups[group].uses[index].base = Base::Root(root.clone());
        }
    }

    /// Groups what `schema` holds, then `schema` itself if it is a type, and replaces it by a
    /// placeholder `$ref`. `pending`: the uses whose base is the nearest enclosing type.
    fn walk(
        &mut self,
        schema: &mut Value,
        side: Side,
        position: Position,
        pending: &mut Vec<(usize, usize)>,
    ) {
        let Some(object) = schema.as_object_mut() else {
            return;
        };
        let is_type = object
            .get("properties")
            .and_then(Value::as_object)
            .is_some_and(|p| !p.is_empty())
            || object.contains_key("enum")
            || ["oneOf", "anyOf", "allOf"]
                .iter()
                .any(|k| object.contains_key(*k));
        let mut inner_pending = Vec::new();
        let (inner, here) = if is_type {
            (&mut inner_pending, Position::default())
        } else {
            (&mut *pending, position.clone())
        };
        if let Some(properties) = object.get_mut("properties").and_then(Value::as_object_mut) {
            for (name, property) in properties.iter_mut() {
                let is_list = property.get("type").and_then(Value::as_str) == Some("array");
                // A page's `items` list: its items are the parent in the singular.
                let words = if name == "items" && is_list {
                    Vec::new()
                } else {
                    words(name)
                };
                self.walk(property, side, here.then(words), inner);
            }
        }
        if let Some(items) = object.get_mut("items") {
            self.walk(items, side, here.items(), inner);
        }
        if let Some(values) = object.get_mut("additionalProperties") {
            self.walk(values, side, here.then(vec!["Value".to_owned()]), inner);
        }
        for key in ["oneOf", "anyOf", "allOf"] {
            if let Some(Value::Array(variants)) = object.get_mut(key) {
                for (i, variant) in variants.iter_mut().enumerate() {
                    let word = format!("Variant{}", i + 1);
                    self.walk(variant, side, here.then(vec![word]), inner);
                }
            }
        }
        if !is_type {
            return;
        }
        // Whether a value may be null belongs to the place, not the type: the type is shared
        // and the place says `nullable` beside it (OpenAPI 3.0 ignores siblings of a `$ref`,
        // hence the one-element `allOf`).
        let nullable = object.remove("nullable") == Some(Value::Bool(true));
        let shape = format!("{side:?}{}", shape_of(schema));
        let next = self.groups.len();
        let group = *self.by_shape.entry(shape).or_insert(next);
        if group == next {
            self.groups.push(Group {
                schema: schema.clone(),
                is_enum: schema.get("enum").is_some(),
                uses: Vec::new(),
            });
        }
        for (child, index) in inner_pending {
            self.groups[child].uses[index].base = Base::Group(group);
        }
        let uses = &mut self.groups[group].uses;
        uses.push(Use {
            base: Base::Pending,
            words: position.words,
            singular: position.singular,
        });
        pending.push((group, uses.len() - 1));
        *schema = if nullable {
            let mut wrapper = Map::new();
            wrapper.insert("allOf".to_owned(), Value::Array(vec![placeholder(group)]));
            wrapper.insert("nullable".to_owned(), Value::Bool(true));
            Value::Object(wrapper)
        } else {
            placeholder(group)
        };
    }

    /// A name per group, parents before children (a round per nesting level).
    fn name_groups(&self, renames: &Renames) -> Result<(Vec<String>, Vec<String>), String> {
        let rounds = self.rounds();
        let mut names: Vec<Option<Vec<String>>> = vec![None; self.groups.len()];
        let mut taken: BTreeSet<String> = RESERVED.iter().map(|s| (*s).to_owned()).collect();
        let mut used_renames = BTreeSet::new();
        for round in rounds {
            let candidates: Vec<Vec<Vec<String>>> =
                round.iter().map(|&g| self.candidates(g, &names)).collect();
            let uses: Vec<usize> = round.iter().map(|&g| self.groups[g].uses.len()).collect();
            let chosen = resolve_clashes(&candidates, &uses, &taken);
            for (&group, mut name) in round.iter().zip(chosen) {
                let joined = name.concat();
                if let Some(to) = renames.0.get(&joined) {
                    if taken.contains(to) {
                        return Err(format!(
                            "{NAMES_FILE}: `{joined} = {to}`: another type is already called `{to}`"
                        ));
                    }
                    used_renames.insert(joined.clone());
                    name = words(to);
                }
                taken.insert(name.concat());
                names[group] = Some(name);
            }
        }
        let unused: Vec<String> = renames
            .0
            .keys()
            .filter(|k| !used_renames.contains(*k))
            .map(|k| {
                format!("{NAMES_FILE}: `{k}` names no type (the rule no longer gives that name; update or remove the line)")
            })
            .collect();
        let names: Vec<String> = names
            .into_iter()
            .map(|n| n.map(|w| w.concat()).unwrap_or_default())
            .collect();
        // Names made unique above; a clash here would be a bug in this module.
        debug_assert_eq!(
            names.iter().collect::<BTreeSet<_>>().len(),
            names.len(),
            "type names are unique"
        );
        Ok((names, unused))
    }

    /// Groups by nesting round: a group's round is one after its latest-named parent.
    fn rounds(&self) -> Vec<Vec<usize>> {
        fn round_of(groups: &[Group], g: usize, memo: &mut [Option<usize>]) -> usize {
            if let Some(r) = memo[g] {
                return r;
            }
            let r = groups[g]
                .uses
                .iter()
                .map(|u| match u.base {
                    Base::Group(parent) => round_of(groups, parent, memo) + 1,
                    _ => 0,
                })
                .max()
                .unwrap_or(0);
            memo[g] = Some(r);
            r
        }
        let mut memo = vec![None; self.groups.len()];
        let mut rounds: Vec<Vec<usize>> = Vec::new();
        for g in 0..self.groups.len() {
            let r = round_of(&self.groups, g, &mut memo);
            if rounds.len() <= r {
                rounds.resize_with(r + 1, Vec::new);
            }
            rounds[r].push(g);
        }
        rounds
    }

    /// A group's names, best first: the words all its uses end with (if there are several
    /// uses and that says enough), then its first use's candidates.
    fn candidates(&self, g: usize, names: &[Option<Vec<String>>]) -> Vec<Vec<String>> {
        let group = &self.groups[g];
        let min_words = if group.is_enum { 2 } else { 1 };
        let per_use: Vec<Vec<Vec<String>>> = group
            .uses
            .iter()
            .map(|u| use_candidates(u, names, false))
            .collect();
        let mut out = Vec::new();
        if per_use.len() > 1 {
            // Each use's name in full by the rule (its first base, no words dropped).
            let fulls: Vec<Vec<String>> = group
                .uses
                .iter()
                .map(|u| use_candidates(u, names, true).remove(0))
                .collect();
            let fulls: Vec<&Vec<String>> = fulls.iter().collect();
            let common = common_suffix(&fulls);
            if common.len() >= min_words {
                out.extend(suffixes(&common, min_words));
            }
        }
        if let Some(first) = per_use.first() {
            out.extend(first.iter().cloned());
        }
        out.retain(|c| c.concat().len() <= MAX_LENGTH);
        if group.is_enum {
            out.retain(|c| c.len() >= 2);
        }
        let mut seen = BTreeSet::new();
        out.retain(|c| seen.insert(c.concat()));
        if out.is_empty() {
            out.push(vec!["Schema".to_owned()]);
        }
        out
    }
}

/// One use's names, best first: the base's name and the use's words, as many leading words of
/// the base as fit in [`PREFERRED_LENGTH`] (at least one), then more of them.
/// `full_only`: just the name in full by the rule.
fn use_candidates(u: &Use, names: &[Option<Vec<String>>], full_only: bool) -> Vec<Vec<String>> {
    let bases: Vec<Vec<String>> = match &u.base {
        // A request body's parts read `UpdateVlanDhcpOption`, not `UpdateVlanRequestDhcpOption`.
        // (kept as the longer form, for when that clashes with a response type's part).
        Base::Group(parent) => {
            let full = names[*parent].clone().unwrap_or_default();
            let mut base = full.clone();
            if base.len() > 1 && base.last().is_some_and(|w| w == "Request") {
                base.pop();
                vec![base, full]
            } else {
                vec![base]
            }
        }
        Base::Root(root) => root.bases(u.singular && u.words.is_empty()),
        Base::Pending => vec![vec!["Schema".to_owned()]],
    };
    let mut out = Vec::new();
    for (i, base) in bases.into_iter().enumerate() {
        let mut base = base;
        if u.singular && matches!(u.base, Base::Group(_)) {
            to_singular(&mut base);
        }
        let mut full = base.clone();
        full.extend(u.words.iter().cloned());
        if full_only {
            return vec![full];
        }
        // Only the first base is shortened; the others are already longer forms.
        let floor = if i == 0 {
            u.words.len() + 1
        } else {
            full.len()
        };
        out.extend(suffixes(&full, floor.min(full.len())));
    }
    out
}

/// Suffixes of `words` with at least `floor` words, the longest within [`PREFERRED_LENGTH`]
/// first (or the shortest allowed if none fits), then each longer one.
fn suffixes(words: &[String], floor: usize) -> Vec<Vec<String>> {
    let floor = floor.max(1).min(words.len());
    let fits = |k: usize| words[words.len() - k..].concat().len() <= PREFERRED_LENGTH;
    let start = (floor..=words.len())
        .rev()
        .find(|&k| fits(k))
        .unwrap_or(floor);
    (start..=words.len())
        .map(|k| words[words.len() - k..].to_vec())
        .collect()
}

fn common_suffix(lists: &[&Vec<String>]) -> Vec<String> {
    let Some(first) = lists.first() else {
        return Vec::new();
    };
    let mut n = 0;
    while n < first.len()
        && lists
            .iter()
            .all(|l| l.len() > n && l[l.len() - 1 - n] == first[first.len() - 1 - n])
    {
        n += 1;
    }
    first[first.len() - n..].to_vec()
}

/// One name per group. Everyone starts at their best candidate. Wherever several want one name,
/// the type used in the most places keeps it if it is used in more than any other claimant (a
/// `Network` used by six operations beats a one-off); the others that have a longer candidate
/// move to it, and a name already taken moves all its claimants. One that has no candidate
/// left keeps the name if it is alone with it, else takes the lowest free number.
fn resolve_clashes(
    candidates: &[Vec<Vec<String>>],
    uses: &[usize],
    taken: &BTreeSet<String>,
) -> Vec<Vec<String>> {
    let mut at = vec![0usize; candidates.len()];
    let mut fixed: Vec<Option<Vec<String>>> = vec![None; candidates.len()];
    loop {
        let current: Vec<Vec<String>> = (0..candidates.len())
            .map(|i| {
                fixed[i]
                    .clone()
                    .unwrap_or_else(|| candidates[i][at[i]].clone())
            })
            .collect();
        let mut claims: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (i, name) in current.iter().enumerate() {
            claims.entry(name.concat()).or_default().push(i);
        }
        let mut moved = false;
        let mut in_use: BTreeSet<String> = claims.keys().cloned().collect();
        in_use.extend(taken.iter().cloned());
        for (name, who) in &claims {
            if who.len() < 2 && !taken.contains(name) {
                continue;
            }
            let most = who.iter().map(|&i| uses[i]).max().unwrap_or(0);
            let winner = (!taken.contains(name)
                && who.iter().filter(|&&i| uses[i] == most).count() == 1)
                .then(|| who.iter().copied().find(|&i| uses[i] == most))
                .flatten();
            let (can_move, stuck): (Vec<usize>, Vec<usize>) = who
                .iter()
                .filter(|&&i| fixed[i].is_none() && Some(i) != winner)
                .partition(|&&i| at[i] + 1 < candidates[i].len());
            for &i in &can_move {
                at[i] += 1;
                moved = true;
            }
            // Keeps the name: the one stuck claimant, if nobody else stays and it is free.
            let keeps = (winner.is_none()
                && stuck.len() == 1
                && !taken.contains(name)
                && who
                    .iter()
                    .all(|i| can_move.contains(i) || stuck.contains(i)))
            .then(|| stuck[0]);
            for &i in &stuck {
                if Some(i) == keeps {
                    continue;
                }
                let number = numbered(&current[i], &in_use);
                in_use.insert(number.concat());
                fixed[i] = Some(number);
                moved = true;
            }
        }
        if !moved {
            return current;
        }
    }
}

/// `name` with the lowest number (from 2) that is free; `V` keeps it apart from a trailing
/// digit (`Wan1V2`, not `Wan12`).
fn numbered(name: &[String], in_use: &BTreeSet<String>) -> Vec<String> {
    let ends_in_digit = name
        .last()
        .is_some_and(|w| w.ends_with(|c: char| c.is_ascii_digit()));
    (2..)
        .map(|n| {
            let mut w = name.to_vec();
            w.push(if ends_in_digit {
                format!("V{n}")
            } else {
                n.to_string()
            });
            w
        })
        .find(|w| !in_use.contains(&w.concat()))
        .expect("some number is free")
}

/// Where a type is used, as a sentence for its docs: its first use, and how many others.
fn where_used(group: &Group, names: &[String]) -> Option<String> {
    let first = group.uses.first()?;
    let field = first
        .words
        .iter()
        .map(|w| w.to_ascii_lowercase())
        .collect::<Vec<_>>()
        .join(" ");
    let what = match (&first.base, field.is_empty(), first.singular) {
        (Base::Root(Root::Response(noun)), true, false) => format!("The answer of `{}`", noun.id),
        (Base::Root(Root::Response(noun)), true, true) => {
            format!("An item of the answer of `{}`", noun.id)
        }
        (Base::Root(Root::Response(noun)), false, _) => {
            format!("The {field} in the answer of `{}`", noun.id)
        }
        (Base::Root(Root::Request(noun)), true, _) => format!("The request body of `{}`", noun.id),
        (Base::Root(Root::Request(noun)), false, _) => {
            format!("The {field} in the request body of `{}`", noun.id)
        }
        (Base::Root(Root::Parameter(noun, parameter)), _, _) => format!(
            "A value of the {} parameter of `{}`",
            parameter
                .iter()
                .map(|w| w.to_ascii_lowercase())
                .collect::<Vec<_>>()
                .join(" "),
            noun.id
        ),
        (Base::Group(g), true, _) => format!("An item of [`{}`]", names.get(*g)?),
        (Base::Group(g), false, true) => {
            format!("An item of the {field} of [`{}`]", names.get(*g)?)
        }
        (Base::Group(g), false, false) => format!("The {field} of [`{}`]", names.get(*g)?),
        (Base::Pending, _, _) => return None,
    };
    Some(match group.uses.len() - 1 {
        0 => format!("{what}."),
        1 => format!("{what} (and one other place)."),
        n => format!("{what} (and {n} other places)."),
    })
}

/// An operation's verb, scope (`Organization`, `Network`, `Device`, if more follows) and noun.
#[derive(Clone, Debug)]
struct OperationNoun {
    /// The operationId, for descriptions.
    id: String,
    verb: String,
    scope: Option<String>,
    noun: Vec<String>,
}

impl OperationNoun {
    fn new(operation_id: &str) -> Self {
        let mut all = words(operation_id);
        let verb = if all.len() > 1 {
            all.remove(0)
        } else {
            String::new()
        };
        let scope = (all.len() > 1 && ["Organization", "Network", "Device"].contains(&&*all[0]))
            .then(|| all.remove(0));
        Self {
            id: operation_id.to_owned(),
            verb,
            scope,
            noun: all,
        }
    }
}

impl Root {
    /// Name bases, best first; `list_items`: the schema is the items of the top-level list.
    fn bases(&self, list_items: bool) -> Vec<Vec<String>> {
        let (op, before, after): (&OperationNoun, bool, Vec<String>) = match self {
            Root::Response(op) => (op, false, Vec::new()),
            Root::Request(op) => (op, true, vec!["Request".to_owned()]),
            Root::Parameter(op, name) => (op, true, name.clone()),
        };
        let mut noun = op.noun.clone();
        if list_items {
            to_singular(&mut noun);
        }
        let verb: Vec<String> = [op.verb.clone()]
            .into_iter()
            .filter(|v| !v.is_empty())
            .collect();
        let scope: Vec<String> = op.scope.iter().cloned().collect();
        let join = |parts: &[&[String]]| parts.concat();
        let mut bases = Vec::new();
        if before {
            bases.push(join(&[&verb, &noun, &after]));
            bases.push(join(&[&verb, &scope, &noun, &after]));
        } else if ["Get", "Create", "Update"].contains(&op.verb.as_str()) {
            bases.push(noun.clone());
            bases.push(join(&[&scope, &noun]));
            bases.push(join(&[&verb, &scope, &noun, &["Response".to_owned()]]));
        } else {
            // What `rebootDevice` returns is not a device.
            let response = ["Response".to_owned()];
            bases.push(join(&[&verb, &noun, &response]));
            bases.push(join(&[&verb, &scope, &noun, &response]));
        }
        bases
    }
}

/// Names one item of a list named `words`: its last word in the singular (`Rules` → `Rule`),
/// or `Item` added where that word does not look plural (`History` → `HistoryItem`).
fn to_singular(words: &mut Vec<String>) {
    match words.last().and_then(|w| singular(w)) {
        Some(one) => *words.last_mut().expect("a last word") = one,
        None => words.push("Item".to_owned()),
    }
}

/// The singular of an English plural (`Policies`, `Switches`, `Addresses`, `Vlans`), or `None`
/// where the word does not look plural (`Status`, `Dns`, `Data`).
fn singular(word: &str) -> Option<String> {
    let lower = word.to_ascii_lowercase();
    if word.len() <= 3 || ["ss", "us", "is"].iter().any(|e| lower.ends_with(e)) {
        return None;
    }
    let stem = if let Some(stem) = word.strip_suffix("ies") {
        format!("{stem}y")
    } else if ["sses", "shes", "ches", "xes", "uses"]
        .iter()
        .any(|e| lower.ends_with(e))
    {
        word[..word.len() - 2].to_owned()
    } else {
        word.strip_suffix('s')?.to_owned()
    };
    Some(stem)
}

/// `dhcpLeaseTime` → `Dhcp`, `Lease`, `Time`; `l3FirewallRules` → `L3`, `Firewall`, `Rules`;
/// `SSID-name` → `Ssid`, `Name`. Each word capitalized, so that generators (heck) keep the
/// joined name as it is.
pub fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for part in text.split(|c: char| !c.is_ascii_alphanumeric()) {
        let chars: Vec<char> = part.chars().collect();
        let mut start = 0;
        for i in 1..chars.len() {
            let (prev, c) = (chars[i - 1], chars[i]);
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
            let boundary = ((prev.is_ascii_lowercase() || prev.is_ascii_digit())
                && c.is_ascii_uppercase())
                || (prev.is_ascii_uppercase() && c.is_ascii_uppercase() && next_lower);
            if boundary {
                out.push(capitalize(&chars[start..i]));
                start = i;
            }
        }
        if start < chars.len() {
            out.push(capitalize(&chars[start..]));
        }
    }
    out
}

fn capitalize(chars: &[char]) -> String {
    let mut word = String::new();
    for (i, c) in chars.iter().enumerate() {
        if i == 0 {
            word.push(c.to_ascii_uppercase());
        } else {
            word.push(c.to_ascii_lowercase());
        }
    }
    word
}

const PLACEHOLDER: &str = "\u{0}type:";

fn placeholder(group: usize) -> Value {
    let mut reference = Map::new();
    reference.insert(
        "$ref".to_owned(),
        Value::String(format!("{PLACEHOLDER}{group}")),
    );
    Value::Object(reference)
}

fn resolve_placeholders(value: &mut Value, names: &[String]) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(reference)) = map.get_mut("$ref") {
                if let Some(group) = reference
                    .strip_prefix(PLACEHOLDER)
                    .and_then(|g| g.parse::<usize>().ok())
                {
                    *reference = format!("#/components/schemas/{}", names[group]);
                }
            }
            for v in map.values_mut() {
                resolve_placeholders(v, names);
            }
        }
        Value::Array(items) => {
            for v in items {
                resolve_placeholders(v, names);
            }
        }
        _ => {}
    }
}

/// The schema as canonical text (keys sorted, `required` as a set), without what does not
/// change the type: descriptions, titles, examples.
fn shape_of(schema: &Value) -> String {
    fn canonical(value: &Value, out: &mut String) {
        match value {
            Value::Object(map) => {
                let mut keys: Vec<&String> = map
                    .keys()
                    .filter(|k| {
                        !matches!(
                            k.as_str(),
                            "description" | "title" | "example" | "examples" | "externalDocs"
                        )
                    })
                    .collect();
                keys.sort();
                out.push('{');
                for key in keys {
                    out.push_str(&Value::String(key.clone()).to_string());
                    out.push(':');
                    if key == "required" {
                        let mut required: Vec<String> = map[key]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .map(Value::to_string)
                            .collect();
                        required.sort();
                        out.push_str(&required.join(","));
                    } else if key == "properties" {
                        // Property names are data here, not keywords to drop.
                        let mut properties: Vec<(&String, &Value)> =
                            map[key].as_object().into_iter().flatten().collect();
                        properties.sort_by_key(|(k, _)| *k);
                        for (name, schema) in properties {
                            out.push_str(&Value::String(name.clone()).to_string());
                            canonical(schema, out);
                        }
                    } else {
                        canonical(&map[key], out);
                    }
                    out.push(',');
                }
                out.push('}');
            }
            Value::Array(items) => {
                out.push('[');
                for item in items {
                    canonical(item, out);
                    out.push(',');
                }
                out.push(']');
            }
            other => out.push_str(&other.to_string()),
        }
    }
    let mut out = String::new();
    canonical(schema, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema_names(document: &Value) -> Vec<String> {
        document["components"]["schemas"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect()
    }

    fn share(document: &mut Value) -> Report {
        share_schemas(document, &Renames::default()).unwrap()
    }

    fn operation(id: &str, response: Value, request: Option<Value>) -> Value {
        let mut op = json!({
            "operationId": id,
            "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": response}}}}
        });
        if let Some(body) = request {
            op["requestBody"] = json!({"content": {"application/json": {"schema": body}}});
        }
        op
    }

    fn license() -> Value {
        json!({"type": "object", "properties": {
            "id": {"type": "string", "description": "The id"},
            "state": {"type": "string", "enum": ["active", "expired"]},
            "rules": {"type": "array", "items": {"type": "object", "properties": {"slot": {"type": "integer"}}}}
        }})
    }

    #[test]
    fn words_split_like_a_generator_reads_them() {
        assert_eq!(
            words("getOrganizationLicenses"),
            ["Get", "Organization", "Licenses"]
        );
        assert_eq!(words("l3FirewallRules"), ["L3", "Firewall", "Rules"]);
        assert_eq!(words("SSID-name"), ["Ssid", "Name"]);
        assert_eq!(words("ipv6Prefix"), ["Ipv6", "Prefix"]);
        assert_eq!(words("radiusServers[]"), ["Radius", "Servers"]);
        assert_eq!(singular("Policies").as_deref(), Some("Policy"));
        assert_eq!(singular("Switches").as_deref(), Some("Switch"));
        assert_eq!(singular("Addresses").as_deref(), Some("Address"));
        assert_eq!(singular("Vlans").as_deref(), Some("Vlan"));
        assert_eq!(singular("Status"), None);
        assert_eq!(singular("Dns"), None);
    }

    #[test]
    fn repeated_schemas_become_one_named_type() {
        let listing = json!({"type": "array", "items": license()});
        let mut document = json!({"paths": {
            "/organizations/{organizationId}/licenses": {"get": operation("getOrganizationLicenses", listing, None)},
            "/organizations/{organizationId}/licenses/{licenseId}": {"get": operation("getOrganizationLicense", license(), None)},
        }});
        let report = share(&mut document);
        let schemas = &document["components"]["schemas"];
        let names: Vec<&String> = schemas.as_object().unwrap().keys().collect();
        assert_eq!(
            names,
            ["License", "LicenseRule", "LicenseState"],
            "{schemas:#}"
        );
        assert_eq!(report.types, 3);
        assert_eq!(
            schemas["License"]["properties"]["rules"]["items"]["$ref"],
            "#/components/schemas/LicenseRule"
        );
        assert_eq!(
            schemas["License"]["properties"]["id"]["description"],
            "The id"
        );
        let get = &document["paths"]["/organizations/{organizationId}/licenses/{licenseId}"]["get"];
        assert_eq!(
            get["responses"]["200"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/License"
        );
    }

    #[test]
    fn request_and_response_schemas_stay_apart() {
        let mut document = json!({"paths": {"/networks/{networkId}/vlans/{vlanId}": {
            "put": operation("updateNetworkApplianceVlan", license(), Some(license())),
        }}});
        share(&mut document);
        let names = schema_names(&document);
        assert_eq!(
            names,
            [
                "ApplianceVlan",
                "ApplianceVlanRule",
                "ApplianceVlanState",
                "UpdateApplianceVlanRequest",
                "UpdateApplianceVlanRule",
                "UpdateApplianceVlanState",
            ]
        );
    }

    #[test]
    fn clashing_names_both_take_a_longer_one() {
        let a = json!({"type": "object", "properties": {"a": {"type": "string"}}});
        let b = json!({"type": "object", "properties": {"b": {"type": "string"}}});
        let mut document = json!({"paths": {
            "/organizations/{o}/x": {"get": operation("getOrganizationThing", a, None)},
            "/networks/{n}/x": {"get": operation("getNetworkThing", b, None)},
        }});
        share(&mut document);
        let names = schema_names(&document);
        assert_eq!(names, ["NetworkThing", "OrganizationThing"]);
    }

    #[test]
    fn a_type_used_in_many_places_is_named_by_what_they_share() {
        let meta = json!({"type": "object", "properties": {"counts": {"type": "object", "properties": {"total": {"type": "integer"}}}}});
        let page = |x: &str| {
            json!({"type": "object", "properties": {
                "items": {"type": "array", "items": {"type": "object", "properties": {x: {"type": "string"}}}},
                "meta": meta.clone()
            }})
        };
        let mut document = json!({"paths": {
            "/a": {"get": operation("getOrganizationDevicesCellularDataProfiles", page("a"), None)},
            "/b": {"get": operation("getOrganizationWirelessClients", page("b"), None)},
        }});
        share(&mut document);
        let names = schema_names(&document);
        assert_eq!(
            names,
            [
                "DevicesCellularDataProfile",
                "DevicesCellularDataProfiles",
                "Meta",
                "MetaCounts",
                "WirelessClient",
                "WirelessClients",
            ]
        );
    }

    #[test]
    fn renames_apply_and_children_follow() {
        let listing = json!({"type": "array", "items": license()});
        let mut document = json!({"paths": {"/x": {"get": operation("getOrganizationDevicesLicenses", listing, None)}}});
        let renames = Renames::parse("# comment\nDevicesLicense = License  # shorter\n").unwrap();
        let report = share_schemas(&mut document, &renames).unwrap();
        assert_eq!(report.renamed, 1);
        let names = schema_names(&document);
        assert_eq!(names, ["License", "LicenseRule", "LicenseState"]);

        let stale = Renames::parse("Nothing = Something").unwrap();
        let mut document = json!({"paths": {"/x": {"get": operation("getOrganizationDevicesLicenses", license(), None)}}});
        let report = share_schemas(&mut document, &stale).unwrap();
        assert!(
            report.unused_renames[0].contains("`Nothing` names no type"),
            "{:?}",
            report.unused_renames
        );
        let taken = Renames::parse("DevicesLicense = DevicesLicenseRule").unwrap();
        let mut document = json!({"paths": {"/x": {"get": operation("getOrganizationDevicesLicenses", json!({"type": "array", "items": license()}), None)}}});
        // The child is named after the parent's new name, so this one is free: rename a leaf instead.
        assert!(share_schemas(&mut document, &taken).is_ok());
        assert!(Renames::parse("lowercase = X")
            .unwrap_err()
            .contains("line 1"));
    }

    #[test]
    fn long_names_drop_leading_words_and_stay_within_the_limit() {
        let deep = json!({"type": "object", "properties": {"sentryEnrollmentSystemsManagerNetwork": {
            "type": "object", "properties": {"enforcedSystemsManagerPolicyType": {"type": "string", "enum": ["a"]}}}}});
        let mut document = json!({"paths": {"/x": {"get": operation("getNetworkWirelessSsidSplashSettingsAndMore", deep, None)}}});
        share(&mut document);
        for name in document["components"]["schemas"]
            .as_object()
            .unwrap()
            .keys()
        {
            assert!(name.len() <= MAX_LENGTH, "{name}");
        }
    }

    /// The committed document's type names: readable lengths (median at most 30 characters,
    /// none over 60) and names a generator keeps as they are.
    #[test]
    fn committed_type_names_are_short_and_kept_as_written() {
        let path = crate::workspace_root().join("openapi/openapi.yaml");
        let document: Value =
            serde_norway::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let names: Vec<&String> = document["components"]["schemas"]
            .as_object()
            .unwrap()
            .keys()
            .collect();
        assert!(names.len() > 1000, "{}", names.len());
        let mut lengths: Vec<usize> = names.iter().map(|n| n.len()).collect();
        lengths.sort_unstable();
        let median = lengths[lengths.len() / 2];
        assert!(median <= 30, "median {median}");
        let longest = names.iter().max_by_key(|n| n.len()).unwrap();
        assert!(longest.len() <= MAX_LENGTH, "{longest}");
        for name in &names {
            assert!(is_type_name(name), "{name}");
            assert_eq!(
                words(name).concat(),
                **name,
                "{name} would not survive PascalCase"
            );
        }
    }
}
