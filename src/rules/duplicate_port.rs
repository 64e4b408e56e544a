use std::collections::HashMap;

use crate::declare_rule;
use crate::model::node::{Node, Shape};
use crate::report::Diagnostic;
use crate::rules::listeners::{UNIX_PREFIX, is_istio};
use crate::rules::{ObjectContext, Rule, RuleMeta};
use crate::source::Span;

declare_rule! {
    /// Flags a port declared twice where Istio requires it to be unique: a
    /// Gateway server port `name` that another server of the same Gateway
    /// already uses, a Sidecar ingress port number used by two listeners, and a
    /// Sidecar egress port number (or Unix socket `bind`) used by two
    /// listeners.
    ///
    /// Gateway port names must be unique across all servers, even servers on
    /// the same port number: several HTTPS servers on port 443, one per
    /// certificate, each need a name of their own (`https-shop`,
    /// `https-admin`). ServiceEntry ports are `invalid-service-entry`'s.
    ///
    /// ## Why is this bad?
    /// Istio's webhook rejects the whole Gateway or Sidecar. A new Gateway is
    /// never programmed, so nothing it should expose is reachable; an update
    /// never applies.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: networking.istio.io/v1
    /// kind: Gateway
    /// metadata: {name: public, namespace: edge}
    /// spec:
    ///   selector: {istio: ingressgateway}
    ///   servers:
    ///   - port: {number: 443, name: https, protocol: HTTPS}
    ///     hosts: ["*/shop.example.com"]
    ///     tls: {mode: SIMPLE, credentialName: shop-cert}
    ///   - port: {number: 443, name: https, protocol: HTTPS}
    ///     hosts: ["*/admin.example.com"]
    ///     tls: {mode: SIMPLE, credentialName: admin-cert}
    /// ```
    /// Use instead: `name: https-shop` and `name: https-admin`.
    pub DuplicatePort {
        name: "duplicate-port",
        severity: Error,
        kinds: [Gateway, Sidecar],
        upstream: ["IST0106"],
    }
}

impl Rule for DuplicatePort {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_object(&self, ctx: &ObjectContext<'_>, out: &mut Vec<Diagnostic>) {
        let meta = &ctx.object.meta;
        if !is_istio(meta) {
            return;
        }
        let Some(spec) = ctx.tree.get("spec") else {
            return;
        };
        let mut push = |span: Span, first: Span, pointer: String, message: String, help: &str| {
            out.push(
                Diagnostic::new(&DuplicatePort::META, meta.file, span, message)
                    .label("used twice")
                    .help(help)
                    .related(meta.file, first, "first used here")
                    .object(meta)
                    .path(meta.path(&pointer)),
            );
        };
        let ports = |list: &str| -> Vec<(usize, Node<'_>, Node<'_>)> {
            spec.get(list)
                .into_iter()
                .flat_map(|l| l.items())
                .enumerate()
                .filter_map(|(i, item)| {
                    let port = item.get("port").filter(|p| p.shape() == Shape::Mapping)?;
                    Some((i, item, port))
                })
                .collect()
        };
        match meta.kind.as_str() {
            "Gateway" => {
                let mut seen: HashMap<&str, Span> = HashMap::new();
                for (i, _, port) in ports("servers") {
                    let Some(n) = port.get("name") else { continue };
                    let Some(name) = n.str().filter(|s| !s.is_empty()) else {
                        continue;
                    };
                    if let Some(first) = seen.get(name) {
                        push(
                            n.span(),
                            *first,
                            format!("/spec/servers/{i}/port/name"),
                            format!(
                                "port name `{name}` is used by another server of this Gateway: Istio requires port names to be unique across servers"
                            ),
                            "Give each server's port its own name, even when servers share a port number (`https-shop`, `https-admin`).",
                        );
                    } else {
                        seen.insert(name, n.span());
                    }
                }
            }
            "Sidecar" => {
                let mut seen: HashMap<i64, Span> = HashMap::new();
                for (i, _, port) in ports("ingress") {
                    let Some(n) = port.get("number") else {
                        continue;
                    };
                    let Some(number) = n.int() else { continue };
                    if let Some(first) = seen.get(&number) {
                        push(
                            n.span(),
                            *first,
                            format!("/spec/ingress/{i}/port/number"),
                            format!(
                                "ingress port `{number}` is declared by two listeners: Istio requires ingress ports to be unique"
                            ),
                            "Declare each ingress port once; one listener per port.",
                        );
                    } else {
                        seen.insert(number, n.span());
                    }
                }
                let mut numbers: HashMap<i64, Span> = HashMap::new();
                let mut sockets: HashMap<&str, Span> = HashMap::new();
                for (i, item, port) in ports("egress") {
                    let n = port.get("number");
                    let number = n.and_then(|n| n.int()).unwrap_or(0);
                    if number == 0 {
                        let Some(b) = item.get("bind") else { continue };
                        let Some(bind) = b.str().filter(|s| s.starts_with(UNIX_PREFIX)) else {
                            continue;
                        };
                        if let Some(first) = sockets.get(bind) {
                            push(
                                b.span(),
                                *first,
                                format!("/spec/egress/{i}/bind"),
                                format!(
                                    "Unix socket `{bind}` is bound by two egress listeners: Istio requires socket binds to be unique"
                                ),
                                "Bind each egress listener to its own socket path.",
                            );
                        } else {
                            sockets.insert(bind, b.span());
                        }
                    } else if let Some(n) = n {
                        if let Some(first) = numbers.get(&number) {
                            push(
                                n.span(),
                                *first,
                                format!("/spec/egress/{i}/port/number"),
                                format!(
                                    "egress port `{number}` is declared by two listeners: Istio requires egress ports to be unique"
                                ),
                                "Declare each egress port once, and list all its hosts in that listener.",
                            );
                        } else {
                            numbers.insert(number, n.span());
                        }
                    }
                }
            }
            _ => {}
        }
    }
}
