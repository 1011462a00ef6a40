//! Reading and rewriting progenitor's tokens without parsing them: parsing the whole API with
//! syn is the build script's largest cost, so what can be done on tokens is done here first.

use proc_macro2::{Delimiter, Group, TokenStream, TokenTree};

/// The tokens inside `mod <name> { ... }` at this level.
pub(crate) fn module_body(tokens: &[TokenTree], name: &str) -> Option<Vec<TokenTree>> {
    let at = module_position(tokens, name)?;
    let TokenTree::Group(group) = &tokens[at + 2] else {
        return None;
    };
    Some(group.stream().into_iter().collect())
}

pub(crate) fn map_module_body(
    mut tokens: Vec<TokenTree>,
    name: &str,
    f: impl FnOnce(Vec<TokenTree>) -> Vec<TokenTree>,
) -> Vec<TokenTree> {
    let Some(at) = module_position(&tokens, name) else {
        return tokens;
    };
    let TokenTree::Group(group) = std::mem::replace(&mut tokens[at + 2], placeholder()) else {
        unreachable!("module_position found a group here");
    };
    let (delimiter, span, body) = into_parts(group);
    let mut replaced = Group::new(delimiter, f(body).into_iter().collect());
    replaced.set_span(span);
    tokens[at + 2] = TokenTree::Group(replaced);
    tokens
}

/// A group's delimiter, span and tokens. The group goes first, so that its tokens, no longer
/// shared, are moved out rather than copied (proc-macro2 copies a shared token list).
pub(crate) fn into_parts(group: Group) -> (Delimiter, proc_macro2::Span, Vec<TokenTree>) {
    let (delimiter, span) = (group.delimiter(), group.span());
    let stream = group.stream();
    drop(group);
    (delimiter, span, stream.into_iter().collect())
}

/// Stands in for a token taken out of a list for a moment.
pub(crate) fn placeholder() -> TokenTree {
    TokenTree::Punct(proc_macro2::Punct::new(';', proc_macro2::Spacing::Alone))
}

/// Where `mod <name> {` starts.
pub(crate) fn module_position(tokens: &[TokenTree], name: &str) -> Option<usize> {
    tokens.windows(3).position(|w| {
        matches!(&w[0], TokenTree::Ident(i) if i == "mod")
            && matches!(&w[1], TokenTree::Ident(i) if i == name)
            && matches!(&w[2], TokenTree::Group(g) if g.delimiter() == Delimiter::Brace)
    })
}

/// Items of a module body: each ends with its `{ ... }` body or a `;` (both for
/// `use a::{b, c};`).
pub(crate) fn split_items(tokens: Vec<TokenTree>) -> Vec<Vec<TokenTree>> {
    let mut items: Vec<Vec<TokenTree>> = Vec::new();
    let mut item = Vec::new();
    for token in tokens {
        if let (TokenTree::Punct(p), true, Some(previous)) =
            (&token, item.is_empty(), items.last_mut())
        {
            if p.as_char() == ';' {
                previous.push(token);
                continue;
            }
        }
        let ends_item = match &token {
            TokenTree::Group(g) => g.delimiter() == Delimiter::Brace,
            TokenTree::Punct(p) => p.as_char() == ';',
            _ => false,
        };
        item.push(token);
        if ends_item {
            items.push(std::mem::take(&mut item));
        }
    }
    if !item.is_empty() {
        items.push(item);
    }
    items
}

/// A group's tokens cut at its top-level commas.
pub(crate) fn split_top_level(tokens: TokenStream) -> Vec<Vec<TokenTree>> {
    let mut parts = vec![Vec::new()];
    for token in tokens {
        match &token {
            TokenTree::Punct(p) if p.as_char() == ',' => parts.push(Vec::new()),
            _ => parts.last_mut().expect("never empty").push(token),
        }
    }
    parts
}

/// The tokens after an item's (or a field's) leading `#[...]` attributes.
pub(crate) fn skip_attributes(mut tokens: &[TokenTree]) -> &[TokenTree] {
    while let [TokenTree::Punct(p), TokenTree::Group(g), tail @ ..] = tokens {
        if p.as_char() != '#' || g.delimiter() != Delimiter::Bracket {
            break;
        }
        tokens = tail;
    }
    tokens
}

/// The tokens after a leading `pub` or `pub(...)`.
pub(crate) fn skip_visibility(tokens: &[TokenTree]) -> &[TokenTree] {
    match tokens {
        [TokenTree::Ident(vis), TokenTree::Group(g), rest @ ..]
            if vis == "pub" && g.delimiter() == Delimiter::Parenthesis =>
        {
            rest
        }
        [TokenTree::Ident(vis), rest @ ..] if vis == "pub" => rest,
        _ => tokens,
    }
}

/// What an item of a module is, read from its tokens (attributes and visibility skipped).
pub(crate) enum ItemKind {
    /// `struct Name { ... }`: the only structs an alias can stand in for (an alias cannot be
    /// a tuple struct's constructor).
    NamedStruct(String),
    OtherStruct(String),
    Enum(String, Vec<String>),
    /// `impl ... for Type { ... }` or `impl Type { ... }`: the last segment of the self type.
    Impl(String),
    Other,
}

pub(crate) fn item_kind(item: &[TokenTree]) -> ItemKind {
    let [TokenTree::Ident(keyword), tail @ ..] = skip_visibility(skip_attributes(item)) else {
        return ItemKind::Other;
    };
    let body = match item.last() {
        Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Brace => Some(g),
        _ => None,
    };
    if keyword == "struct" || keyword == "enum" {
        let Some(TokenTree::Ident(name)) = tail.first() else {
            return ItemKind::Other;
        };
        let name = name.to_string();
        let named = body.is_some()
            && !tail.iter().any(
                |t| matches!(t, TokenTree::Group(g) if g.delimiter() == Delimiter::Parenthesis),
            );
        return match (keyword == "enum", body) {
            (true, Some(body)) => ItemKind::Enum(name, variant_names(body.stream())),
            (true, None) => ItemKind::Other,
            (false, _) if named => ItemKind::NamedStruct(name),
            (false, _) => ItemKind::OtherStruct(name),
        };
    }
    if keyword == "impl" && body.is_some() {
        let head = &tail[..tail.len() - 1];
        return self_type_name(head).map_or(ItemKind::Other, ItemKind::Impl);
    }
    ItemKind::Other
}

/// The last path segment of an impl's self type (`head`: the tokens between `impl` and the
/// body): after the top-level `for` if there is one, else after the impl's own generics;
/// a `where` clause ends it.
fn self_type_name(head: &[TokenTree]) -> Option<String> {
    let mut start = match head.first() {
        Some(TokenTree::Punct(p)) if p.as_char() == '<' => closing_angle(head)? + 1,
        _ => 0,
    };
    let mut end = head.len();
    let mut depth = 0usize;
    for (i, token) in head.iter().enumerate().skip(start) {
        match angle(head, i) {
            Some(true) => depth += 1,
            Some(false) => depth = depth.saturating_sub(1),
            None => match token {
                TokenTree::Ident(ident) if depth == 0 && ident == "for" => start = i + 1,
                TokenTree::Ident(ident) if depth == 0 && ident == "where" => {
                    end = i;
                    break;
                }
                _ => {}
            },
        }
    }
    let mut depth = 0usize;
    let mut last = None;
    for (i, token) in head.iter().enumerate().take(end).skip(start) {
        match (angle(head, i), token) {
            (Some(true), _) => depth += 1,
            (Some(false), _) => depth = depth.saturating_sub(1),
            (None, TokenTree::Ident(ident)) if depth == 0 => last = Some(ident.to_string()),
            _ => {}
        }
    }
    last
}

/// Whether `tokens[i]` opens (`Some(true)`) or closes (`Some(false)`) angle brackets; the `>`
/// of `->` does neither.
fn angle(tokens: &[TokenTree], i: usize) -> Option<bool> {
    let TokenTree::Punct(p) = &tokens[i] else {
        return None;
    };
    match p.as_char() {
        '<' => Some(true),
        '>' => {
            let arrow = i > 0
                && matches!(&tokens[i - 1], TokenTree::Punct(q)
                    if q.as_char() == '-' && q.spacing() == proc_macro2::Spacing::Joint);
            (!arrow).then_some(false)
        }
        _ => None,
    }
}

/// The index of the `>` that closes the `<` at `tokens[0]`.
fn closing_angle(tokens: &[TokenTree]) -> Option<usize> {
    let mut depth = 0usize;
    for i in 0..tokens.len() {
        match angle(tokens, i) {
            Some(true) => depth += 1,
            Some(false) => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            None => {}
        }
    }
    None
}

/// The variant names of an enum body: the first identifier of each top-level,
/// comma-separated part, attributes skipped.
fn variant_names(body: TokenStream) -> Vec<String> {
    let mut names = Vec::new();
    let mut expecting_name = true;
    let mut after_hash = false;
    for token in body {
        match &token {
            TokenTree::Punct(p) if p.as_char() == ',' => expecting_name = true,
            TokenTree::Punct(p) if p.as_char() == '#' => after_hash = true,
            TokenTree::Group(_) if after_hash => after_hash = false,
            TokenTree::Ident(ident) if expecting_name => {
                names.push(ident.to_string());
                expecting_name = false;
            }
            _ => {}
        }
    }
    names
}

/// The type a braced item defines or implements for: `struct X { }`, `enum X { }`,
/// `impl Trait for X { }`, `impl X { }`.
pub(crate) fn braced_item_name(item: &[TokenTree]) -> Option<String> {
    match item_kind(item) {
        ItemKind::NamedStruct(name) | ItemKind::Enum(name, _) | ItemKind::Impl(name) => Some(name),
        ItemKind::OtherStruct(_) | ItemKind::Other => None,
    }
}
