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

use std::collections::{BTreeMap, BTreeSet, HashMap};

use proc_macro2::{Delimiter, TokenStream, TokenTree};
use quote::ToTokens;

use crate::post_process::{last_ident, module_items, module_items_mut};

/// Replaces every repeated type in `mod types` (and its builder in `mod types::builder`) by an
/// alias of the type of the same shape with the shortest name. Returns `repeat name -> kept name`.
pub(crate) fn alias_repeated_types(file: &mut syn::File) -> BTreeMap<String, String> {
    let Some(types) = module_items_mut(&mut file.items, "types") else {
        return BTreeMap::new();
    };
    let candidates = candidates(types);
    let index: BTreeMap<&str, usize> = candidates
        .iter()
        .enumerate()
        .map(|(i, name)| (name.as_str(), i))
        .collect();

    let definitions = definitions_by_name(types);
    let builder_definitions =
        definitions_by_name(module_items(types, "builder").unwrap_or_default());
    let shapes: Vec<Shape> = candidates
        .iter()
        .map(|name| {
            let mut shape = Shape::default();
            for item in definitions.get(name.as_str()).into_iter().flatten() {
                shape.add(item.to_token_stream(), name, &index);
            }
            shape.text.push_str("\u{1}builder\u{1}");
            for item in builder_definitions.get(name.as_str()).into_iter().flatten() {
                shape.add(item.to_token_stream(), name, &index);
            }
            shape
        })
        .collect();
    let aliases = merge_identical(&candidates, &shapes);
    if aliases.is_empty() {
        return aliases;
    }
    replace_with_aliases(types, &aliases);
    if let Some(builders) = module_items_mut(types, "builder") {
        replace_with_aliases(builders, &aliases);
    }
    aliases
}

/// Structs with named fields and enums. Tuple structs are left alone: an alias cannot stand in
/// for their constructor. So are names that are also enum variants, which a token comparison
/// could not tell apart from the type.
fn candidates(types: &[syn::Item]) -> Vec<String> {
    let variants: BTreeSet<String> = types
        .iter()
        .filter_map(|item| match item {
            syn::Item::Enum(e) => Some(e.variants.iter().map(|v| v.ident.to_string())),
            _ => None,
        })
        .flatten()
        .collect();
    let mut names: Vec<String> = types
        .iter()
        .filter_map(|item| match item {
            syn::Item::Struct(s) if matches!(s.fields, syn::Fields::Named(_)) => {
                Some(s.ident.to_string())
            }
            syn::Item::Enum(e) => Some(e.ident.to_string()),
            _ => None,
        })
        .filter(|name| !variants.contains(name))
        .collect();
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
    fn add(&mut self, tokens: TokenStream, own_name: &str, index: &BTreeMap<&str, usize>) {
        let mut tokens = tokens.into_iter().peekable();
        while let Some(token) = tokens.next() {
            match token {
                TokenTree::Punct(p) if p.as_char() == '#' && tokens.peek().is_some_and(is_doc) => {
                    tokens.next();
                }
                TokenTree::Group(group) => {
                    let (open, close) = match group.delimiter() {
                        Delimiter::Parenthesis => ("(", ")"),
                        Delimiter::Brace => ("{", "}"),
                        Delimiter::Bracket => ("[", "]"),
                        Delimiter::None => ("\u{2}", "\u{3}"),
                    };
                    self.text.push_str(open);
                    self.add(group.stream(), own_name, index);
                    self.text.push_str(close);
                }
                TokenTree::Ident(ident) => {
                    let ident = ident.to_string();
                    if ident == own_name {
                        self.text.push('\u{0}');
                        self.mentions.push(SELF);
                    } else if let Some(&i) = index.get(ident.as_str()) {
                        self.text.push('\u{0}');
                        self.mentions.push(i);
                    } else {
                        self.text.push_str(&ident);
                        self.text.push(' ');
                    }
                }
                TokenTree::Punct(p) => {
                    self.text.push(p.as_char());
                    if p.spacing() == proc_macro2::Spacing::Alone {
                        self.text.push(' ');
                    }
                }
                TokenTree::Literal(literal) => {
                    self.text.push_str(&literal.to_string());
                    self.text.push(' ');
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
fn definitions_by_name(items: &[syn::Item]) -> HashMap<String, Vec<&syn::Item>> {
    let mut definitions: HashMap<String, Vec<&syn::Item>> = HashMap::new();
    for item in items {
        let name = match item {
            syn::Item::Struct(s) => Some(s.ident.to_string()),
            syn::Item::Enum(e) => Some(e.ident.to_string()),
            syn::Item::Impl(imp) => last_ident(&imp.self_ty),
            _ => None,
        };
        if let Some(name) = name {
            definitions.entry(name).or_default().push(item);
        }
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
fn replace_with_aliases(items: &mut Vec<syn::Item>, aliases: &BTreeMap<String, String>) {
    items.retain_mut(|item| {
        let (name, docs) = match item {
            syn::Item::Struct(s) => (s.ident.clone(), docs_of(&s.attrs)),
            syn::Item::Enum(e) => (e.ident.clone(), docs_of(&e.attrs)),
            syn::Item::Impl(imp) => {
                return last_ident(&imp.self_ty).is_none_or(|n| !aliases.contains_key(&n));
            }
            _ => return true,
        };
        let Some(kept) = aliases.get(&name.to_string()) else {
            return true;
        };
        let note = format!("Same shape as [`{kept}`].");
        let separator = (!docs.is_empty()).then(|| quote::quote!(#[doc = ""]));
        let kept = syn::Ident::new(kept, name.span());
        *item = syn::parse_quote! {
            #(#docs)*
            #separator
            #[doc = #note]
            pub type #name = #kept;
        };
        true
    });
}

fn docs_of(attrs: &[syn::Attribute]) -> Vec<syn::Attribute> {
    attrs
        .iter()
        .filter(|a| a.path().is_ident("doc"))
        .cloned()
        .collect()
}
