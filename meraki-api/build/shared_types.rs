//! Identical generated types become aliases of one of them.
//!
//! typify names every inline schema after the operation that holds it, so one object of the API
//! (a VLAN, a firewall rule, an SSID) is written out again for every operation that mentions it:
//! in the whole v1.42.0 API about half of the types repeat another one field for field. Each
//! repeat becomes `pub type Repeat = Kept;` (`Kept` being the shortest name of the shape),
//! keeping its name and its docs, and loses its derives and impls, which is what rustc spends
//! its time and memory on.
//!
//! Two types are the same when their definitions, their impls and their request-body builders
//! are token for token the same, doc comments aside and each mentioned type read as the type it
//! is an alias of. Merging starts from no aliases and repeats until nothing changes, so only
//! types proven identical are ever merged.
//!
//! This runs on progenitor's tokens, before they are parsed: the repeats are never parsed,
//! post-processed or formatted, which is most of what merging saves the build script.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt::Write as _;

use proc_macro2::{Delimiter, Ident, Span, TokenStream, TokenTree};

use crate::tokens::{
    item_kind, map_module_body, module_body, skip_attributes, skip_visibility, split_items,
    split_top_level, ItemKind,
};

/// What merging found, besides the merged tokens.
pub(crate) struct Merged {
    /// `repeat name -> kept name`.
    pub(crate) aliases: BTreeMap<String, String>,
    /// The types reachable from the operations' outputs through field types (before merging,
    /// so both a repeat and its kept type are in it, or neither): the response types, whose
    /// enums are opened (`post_process::open_response_enums`).
    pub(crate) responses: BTreeSet<String>,
}

/// Replaces every repeated type in `mod types` (and its builder in `mod types::builder`) by an
/// alias of the type of the same shape with the shortest name. `output_names`: the identifiers
/// in the operations' output types. A response enum never merges with a request-only one:
/// response enums are opened, request enums stay strict.
pub(crate) fn alias_repeated_types(
    tokens: TokenStream,
    output_names: &[String],
) -> (TokenStream, Merged) {
    let mut merged = Merged {
        aliases: BTreeMap::new(),
        responses: BTreeSet::new(),
    };
    let top = map_module_body(tokens.into_iter().collect(), "types", |types| {
        let (types, found) = merge_module(types, output_names);
        merged = found;
        types
    });
    (top.into_iter().collect(), merged)
}

/// [`alias_repeated_types`] on the body of `mod types`.
fn merge_module(types: Vec<TokenTree>, output_names: &[String]) -> (Vec<TokenTree>, Merged) {
    let types = split_items(types);
    // Each item read once; the passes below look its kind up.
    let type_kinds: Vec<ItemKind> = types.iter().map(|item| item_kind(item)).collect();
    let responses = reachable_types(&types, &type_kinds, output_names);
    let builders = module_body_of_items(&types, "builder")
        .map(split_items)
        .unwrap_or_default();
    let builder_kinds: Vec<ItemKind> = builders.iter().map(|item| item_kind(item)).collect();
    let candidates = candidates(&type_kinds);
    let enums: HashSet<&str> = type_kinds
        .iter()
        .filter_map(|kind| match kind {
            ItemKind::Enum(name, _) => Some(name.as_str()),
            _ => None,
        })
        .collect();
    let index: HashMap<&str, usize> = candidates
        .iter()
        .enumerate()
        .map(|(i, name)| (name.as_str(), i))
        .collect();

    let definitions = definitions_by_name(&types, &type_kinds);
    let builder_definitions = definitions_by_name(&builders, &builder_kinds);
    let shapes: Vec<Shape> = candidates
        .iter()
        .map(|name| {
            let mut shape = Shape::default();
            let items = definitions
                .get(name.as_str())
                .map_or(&[][..], Vec::as_slice);
            if enums.contains(name.as_str()) && responses.contains(name) {
                shape.text.push_str("\u{4}response\u{4}");
            }
            for item in items {
                shape.add(item.iter().cloned(), name, &index);
            }
            shape.text.push_str("\u{1}builder\u{1}");
            for item in builder_definitions.get(name.as_str()).into_iter().flatten() {
                shape.add(item.iter().cloned(), name, &index);
            }
            shape
        })
        .collect();
    let aliases = merge_identical(&candidates, &shapes);
    let types: Vec<TokenTree> = if aliases.is_empty() {
        types.into_iter().flatten().collect()
    } else {
        let types: Vec<TokenTree> = replace_with_aliases(types, type_kinds, &aliases)
            .into_iter()
            .flatten()
            .collect();
        map_module_body(types, "builder", |_| {
            replace_with_aliases(builders, builder_kinds, &aliases)
                .into_iter()
                .flatten()
                .collect()
        })
    };
    (types, Merged { aliases, responses })
}

/// The types reachable from `roots` through the types of struct fields and enum variants.
fn reachable_types(
    types: &[Vec<TokenTree>],
    kinds: &[ItemKind],
    roots: &[String],
) -> BTreeSet<String> {
    let mut mentions: HashMap<&str, Vec<String>> = HashMap::new();
    for (item, kind) in types.iter().zip(kinds) {
        match kind {
            ItemKind::NamedStruct(name) | ItemKind::OtherStruct(name) => {
                // The fields: `{ ... }` of a struct, `( ... )` of a tuple struct.
                let fields = item.iter().rev().find_map(|t| match t {
                    TokenTree::Group(g) if g.delimiter() != Delimiter::Bracket => Some(g),
                    _ => None,
                });
                if let Some(fields) = fields {
                    mentions.insert(name.as_str(), field_idents(fields));
                }
            }
            ItemKind::Enum(name, _) => {
                if let Some(TokenTree::Group(body)) = item.last() {
                    mentions.insert(name.as_str(), variant_field_idents(body.stream()));
                }
            }
            _ => {}
        }
    }
    let mut reachable = BTreeSet::new();
    let mut queue: Vec<&str> = roots.iter().map(String::as_str).collect();
    while let Some(name) = queue.pop() {
        if reachable.insert(name.to_owned()) {
            queue.extend(mentions.get(name).into_iter().flatten().map(String::as_str));
        }
    }
    reachable
}

/// The identifiers in the field types of a `{ name: Type, ... }` or `(Type, ...)` group.
fn field_idents(fields: &proc_macro2::Group) -> Vec<String> {
    let named = fields.delimiter() == Delimiter::Brace;
    let mut idents = Vec::new();
    for field in split_top_level(fields.stream()) {
        let mut rest = skip_visibility(skip_attributes(&field));
        if named {
            // `name :`
            rest = rest.get(2..).unwrap_or_default();
        }
        all_idents(rest, &mut idents);
    }
    idents
}

/// The identifiers in the field types of an enum's variants.
fn variant_field_idents(body: TokenStream) -> Vec<String> {
    let mut idents = Vec::new();
    for variant in split_top_level(body) {
        let rest = skip_attributes(&variant);
        if let [TokenTree::Ident(_), TokenTree::Group(fields), ..] = rest {
            idents.extend(field_idents(fields));
        }
    }
    idents
}

fn all_idents(tokens: &[TokenTree], out: &mut Vec<String>) {
    for token in tokens {
        match token {
            TokenTree::Ident(ident) => out.push(ident.to_string()),
            TokenTree::Group(group) => {
                let inner: Vec<TokenTree> = group.stream().into_iter().collect();
                all_idents(&inner, out);
            }
            _ => {}
        }
    }
}

/// The body of `mod <name> { ... }` among already split items.
fn module_body_of_items(items: &[Vec<TokenTree>], name: &str) -> Option<Vec<TokenTree>> {
    items.iter().find_map(|item| module_body(item, name))
}

/// Structs with named fields and enums. Tuple structs are left alone: an alias cannot stand in
/// for their constructor. So are names that are also enum variants, which a token comparison
/// could not tell apart from the type.
fn candidates(kinds: &[ItemKind]) -> Vec<String> {
    let mut variants = BTreeSet::new();
    let mut names = Vec::new();
    for kind in kinds {
        match kind {
            ItemKind::NamedStruct(name) => names.push(name.clone()),
            ItemKind::Enum(name, enum_variants) => {
                names.push(name.clone());
                variants.extend(enum_variants.iter().cloned());
            }
            _ => {}
        }
    }
    names.retain(|name| !variants.contains(name));
    // The shortest name of a shape is kept: usually the most general one.
    names.sort_by(|a, b| a.len().cmp(&b.len()).then_with(|| a.cmp(b)));
    names
}

/// A type's definition, impls and builder as text, with every mention of a candidate type cut
/// out into `mentions` (its own name is [`SELF`]), so that shapes can be compared under any
/// aliasing without printing them again.
#[derive(Default)]
struct Shape {
    text: String,
    mentions: Vec<usize>,
}

const SELF: usize = usize::MAX;

impl Shape {
    fn add(
        &mut self,
        tokens: impl Iterator<Item = TokenTree>,
        own_name: &str,
        index: &HashMap<&str, usize>,
    ) {
        let mut tokens = tokens.peekable();
        while let Some(token) = tokens.next() {
            match token {
                TokenTree::Punct(p) if p.as_char() == '#' && tokens.peek().is_some_and(is_doc) => {
                    tokens.next();
                }
                TokenTree::Group(group) => {
                    let (open, close) = match group.delimiter() {
                        Delimiter::Parenthesis => ('(', ')'),
                        Delimiter::Brace => ('{', '}'),
                        Delimiter::Bracket => ('[', ']'),
                        Delimiter::None => ('\u{2}', '\u{3}'),
                    };
                    self.text.push(open);
                    self.add(group.stream().into_iter(), own_name, index);
                    self.text.push(close);
                }
                TokenTree::Ident(ident) => {
                    // Written in place, taken back if it names a type: no string per identifier.
                    let start = self.text.len();
                    write!(self.text, "{ident}").expect("writing to a String");
                    let written = &self.text[start..];
                    let mention = if written == own_name {
                        Some(SELF)
                    } else {
                        index.get(written).copied()
                    };
                    match mention {
                        Some(mention) => {
                            self.text.truncate(start);
                            self.text.push('\u{0}');
                            self.mentions.push(mention);
                        }
                        None => self.text.push(' '),
                    }
                }
                TokenTree::Punct(p) => {
                    self.text.push(p.as_char());
                    if p.spacing() == proc_macro2::Spacing::Alone {
                        self.text.push(' ');
                    }
                }
                TokenTree::Literal(literal) => {
                    write!(self.text, "{literal} ").expect("writing to a String");
                }
            }
        }
    }
}

fn is_doc(token: &TokenTree) -> bool {
    let TokenTree::Group(group) = token else {
        return false;
    };
    group.delimiter() == Delimiter::Bracket
        && matches!(group.stream().into_iter().next(), Some(TokenTree::Ident(i)) if i == "doc")
}

/// Each type's definition and impls (an impl belongs to its self type), in source order.
fn definitions_by_name<'a>(
    items: &'a [Vec<TokenTree>],
    kinds: &'a [ItemKind],
) -> HashMap<&'a str, Vec<&'a [TokenTree]>> {
    let mut definitions: HashMap<&str, Vec<&[TokenTree]>> = HashMap::new();
    for (item, kind) in items.iter().zip(kinds) {
        let name = match kind {
            ItemKind::NamedStruct(name)
            | ItemKind::OtherStruct(name)
            | ItemKind::Enum(name, _)
            | ItemKind::Impl(name) => name.as_str(),
            ItemKind::Other => continue,
        };
        definitions.entry(name).or_default().push(item);
    }
    definitions
}

/// Merging from below: each round, types whose text and mentioned classes match join the class
/// of the first of them (in `names` order); repeated until stable (a round per nesting level).
fn merge_identical(names: &[String], shapes: &[Shape]) -> BTreeMap<String, String> {
    let mut texts: HashMap<&str, usize> = HashMap::new();
    let text_ids: Vec<usize> = shapes
        .iter()
        .map(|shape| {
            let next = texts.len();
            *texts.entry(shape.text.as_str()).or_insert(next)
        })
        .collect();
    let mut class: Vec<usize> = (0..names.len()).collect();
    loop {
        let mut first_of: HashMap<(usize, Vec<usize>), usize> = HashMap::new();
        let mut next = class.clone();
        for (i, shape) in shapes.iter().enumerate() {
            let mentions = shape
                .mentions
                .iter()
                .map(|&m| if m == SELF { SELF } else { class[m] })
                .collect();
            next[i] = *first_of.entry((text_ids[i], mentions)).or_insert(i);
        }
        if next == class {
            break;
        }
        class = next;
    }
    class
        .iter()
        .enumerate()
        .filter(|&(i, &c)| i != c)
        .map(|(i, &c)| (names[i].clone(), names[c].clone()))
        .collect()
}

/// Swaps each repeat's definition for `pub type Repeat = Kept;` (its docs kept) and drops its
/// impls, in `mod types` or in `mod types::builder` alike.
fn replace_with_aliases(
    items: Vec<Vec<TokenTree>>,
    kinds: Vec<ItemKind>,
    aliases: &BTreeMap<String, String>,
) -> Vec<Vec<TokenTree>> {
    items
        .into_iter()
        .zip(kinds)
        .filter_map(|(item, kind)| {
            let name = match kind {
                ItemKind::NamedStruct(name) | ItemKind::Enum(name, _) => name,
                ItemKind::Impl(name) => {
                    return (!aliases.contains_key(&name)).then_some(item);
                }
                _ => return Some(item),
            };
            let Some(kept) = aliases.get(&name) else {
                return Some(item);
            };
            let docs = doc_attributes(&item);
            let separator = (!docs.is_empty()).then(|| quote::quote!(#[doc = ""]));
            let note = format!("Same shape as [`{kept}`].");
            let name = Ident::new(&name, Span::call_site());
            let kept = Ident::new(kept, Span::call_site());
            let alias = quote::quote! {
                #(#docs)*
                #separator
                #[doc = #note]
                pub type #name = #kept;
            };
            Some(alias.into_iter().collect())
        })
        .collect()
}

/// The `#[doc = ...]` attributes at the head of an item.
fn doc_attributes(item: &[TokenTree]) -> Vec<TokenStream> {
    let attributes = &item[..item.len() - skip_attributes(item).len()];
    attributes
        .chunks(2)
        .filter(|attribute| is_doc(&attribute[1]))
        .map(|attribute| attribute.iter().cloned().collect())
        .collect()
}
