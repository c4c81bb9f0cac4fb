"""The bad-input corpus: one case per class of mistake. Each must fail with exit 2, the exact
`file:line: error: message`, no traceback, and out/ byte-identical to the good build before it."""

from __future__ import annotations

import pytest
from conftest import KLASTERFILE, ProjectDir

GOOD = """\
from klaster_build.dsl import Container, Deployment, Service

web = Deployment("web", containers=[Container("web", image="nginx:1.27.3", ports={"http": 80})])
Service("web", workload=web, ports={"http": 80})
"""
HEAD = "from klaster_build.dsl import *\n"
RELEASE = "r = HelmRepository('r', url='https://example.org/c')\n"

# (case id, {relative path: content}, expected start of the first error line)
CASES: list[tuple[str, dict[str, str | bytes], str]] = [
    ("syntax-error", {"apps.d/bad.py": "x = (\n"}, "apps.d/bad.py:1: error: syntax error"),
    (
        "exception-raised",
        {"apps.d/bad.py": HEAD + "raise RuntimeError('boom')\n"},
        "apps.d/bad.py:2: error: RuntimeError: boom",
    ),
    (
        "missing-module",
        {"apps.d/bad.py": "import kubernetes_magic\n"},
        "apps.d/bad.py:1: error: cannot import 'kubernetes_magic'",
    ),
    (
        "name-error",
        {"apps.d/bad.py": HEAD + "Deployment(nme='x')\n"},
        "apps.d/bad.py:2: error: Deployment has no argument 'nme'; did you mean 'name'? Its arguments: name, containers,",
    ),
    (
        "wrong-field-type",
        {"apps.d/bad.py": HEAD + "Service('s', ports={'http': '80'})\n"},
        "apps.d/bad.py:2: error: Port 'number' must be a port number 1-65535, got '80'",
    ),
    (
        "missing-required-field",
        {"apps.d/bad.py": HEAD + "Deployment('d')\n"},
        "apps.d/bad.py:2: error: Deployment needs 'containers' (required: name, containers; see 'klaster explain Deployment')",
    ),
    (
        "unknown-keyword",
        {"apps.d/bad.py": HEAD + "Volume('data', sise='1Gi')\n"},
        "apps.d/bad.py:2: error: Volume has no argument 'sise'; did you mean 'size'? Its arguments: name, size, tier,",
    ),
    (
        "invalid-k8s-name",
        {"apps.d/bad.py": HEAD + "ConfigMap('My_Config', data={})\n"},
        "apps.d/bad.py:2: error: ConfigMap 'name' must be a DNS-1123 name",
    ),
    (
        "name-escape-dotdot",
        {"apps.d/bad.py": HEAD + "ConfigMap('../x', data={})\n"},
        "apps.d/bad.py:2: error: ConfigMap 'name' must be a DNS-1123 name",
    ),
    (
        "name-escape-absolute",
        {"apps.d/bad.py": HEAD + "ConfigMap('/x', data={})\n"},
        "apps.d/bad.py:2: error: ConfigMap 'name' must be a DNS-1123 name",
    ),
    (
        "name-with-dots",
        {"apps.d/bad.py": HEAD + "Service('a.b')\n"},
        "apps.d/bad.py:2: error: Service 'name' must be a DNS-1123 name",
    ),
    (
        "name-upper-case",
        {"apps.d/bad.py": HEAD + "Service('Web')\n"},
        "apps.d/bad.py:2: error: Service 'name' must be a DNS-1123 name",
    ),
    (
        "name-too-long",
        {"apps.d/bad.py": HEAD + f"Service('{'a' * 64}')\n"},
        "apps.d/bad.py:2: error: Service 'name' must be at most 63 characters",
    ),
    (
        "name-trailing-newline",
        {"apps.d/bad.py": HEAD + "ConfigMap('web\\n', data={})\n"},
        "apps.d/bad.py:2: error: ConfigMap 'name' must be a DNS-1123 name (lower-case letters, digits and '-', starting and ending with a letter or digit), got 'web\\n'; e.g. 'web'",
    ),
    (
        "file-name-trailing-newline",
        {"apps.d/bad.py": HEAD + "ConfigMap('c', data={}, file='c.yaml\\n')\n"},
        "apps.d/bad.py:2: error: ConfigMap 'file' must be a file name such as 'release.yaml'",
    ),
    (
        "quantity-trailing-newline",
        {"apps.d/bad.py": HEAD + "Volume('data', size='1Gi\\n')\n"},
        "apps.d/bad.py:2: error: Volume 'size' must be a quantity: '1Gi\\n' is not a Kubernetes quantity",
    ),
    (
        "kv-path-trailing-newline",
        {"apps.d/bad.py": HEAD + "VaultSecret('s', path='kaneo\\n', keys=['k'])\n"},
        "apps.d/bad.py:2: error: VaultSecret 'path' must be a KV path such as 'kaneo'",
    ),
    (
        "service-name-starts-with-digit",
        {"apps.d/bad.py": HEAD + "Service('1abc', ports={'http': 80})\n"},
        "apps.d/bad.py:2: error: Service name must be an RFC 1035 label (lower-case letters, digits and '-', starting with a letter and ending with a letter or digit), got '1abc'; start it with a letter",
    ),
    (
        "port-name-over-15-characters",
        {"apps.d/bad.py": HEAD + "Service('s', ports={'prometheus-metrics': 9090})\n"},
        "apps.d/bad.py:2: error: Port 'name' must be at most 15 characters (an IANA service name), got 18 ('prometheus-metrics'); shorten it by 3",
    ),
    (
        "port-name-without-letter",
        {"apps.d/bad.py": HEAD + "Service('s', ports={'8080': 8080})\n"},
        "apps.d/bad.py:2: error: Port 'name' must be an IANA service name (lower-case letters, digits and '-', at least one letter, no '-' at either end or twice in a row)",
    ),
    (
        "lv-name-of-253-characters",
        {"apps.d/bad.py": HEAD + f"Volume('data', lv_name='{'v' * 253}')\n"},
        "apps.d/bad.py:2: error: LVMVolume (local.openebs.io) name (the LV name) makes the device-mapper name <volume group>-<LV name>, every '-' doubled, 261 characters; device-mapper takes at most 127, got 'vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv...'; shorten the LV name by 134",
    ),
    (
        "postgres-name-of-63-characters",
        {"apps.d/bad.py": HEAD + f"Postgres('{'p' * 63}')\n"},
        "apps.d/bad.py:2: error: Cluster (postgresql.cnpg.io) name must be at most 50 characters (a CloudNativePG cluster name), got 63 ('pppppppppppppppppppppppppppppppp...'); shorten it by 13",
    ),
    (
        "service-selects-no-pod",
        {
            "apps.d/bad.py": HEAD
            + "App(namespace='web')\nService('web-any', selector={'app': 'wbe'}, ports={'http': 80})\n"
        },
        "apps.d/bad.py:3: error: Service 'web-any' selects pods labelled app=wbe, but no pod in namespace 'web' has those labels; its pods are labelled app=web (Deployment web): select one of them, or give workload=",
    ),
    (
        "manifest-cluster-scoped-kind-with-namespace",
        {
            "apps.d/bad.py": HEAD
            + "Manifest(body={'apiVersion': 'v1', 'kind': 'Namespace', 'metadata': {'name': 'x', 'namespace': 'bad'}})\n"
        },
        "apps.d/bad.py:2: error: Manifest: Namespace is cluster-scoped and has no namespace; remove metadata.namespace",
    ),
    (
        "manifest-cluster-scoped-kind-declared-namespaced",
        {
            "apps.d/bad.py": HEAD
            + "Manifest(body={'apiVersion': 'rbac.authorization.k8s.io/v1', 'kind': 'ClusterRole', 'metadata': {'name': 'x'}}, cluster_scoped=False)\n"
        },
        "apps.d/bad.py:2: error: Manifest: ClusterRole is cluster-scoped; remove cluster_scoped=False",
    ),
    (
        "file-name-escape",
        {"apps.d/bad.py": HEAD + "ConfigMap('c', data={}, file='../../etc/x.yaml')\n"},
        "apps.d/bad.py:2: error: ConfigMap 'file' must be a file name",
    ),
    (
        "app-file-name-invalid",
        {"apps.d/Bad_App.py": GOOD},
        "apps.d/Bad_App.py:1: error: app name (the file name) must be a DNS-1123 name",
    ),
    (
        "app-file-name-too-long",
        {f"apps.d/{'a' * 64}.py": GOOD},
        f"apps.d/{'a' * 64}.py:1: error: app name (the file name) must be at most 63 characters",
    ),
    (
        "duplicate-in-file",
        {"apps.d/bad.py": HEAD + "ConfigMap('c', data={})\nConfigMap('c', data={})\n"},
        "apps.d/bad.py:3: error: 'bad/ConfigMap/c' is declared twice (also at apps.d/bad.py:2)",
    ),
    (
        "duplicate-across-apps-in-one-namespace",
        {"apps.d/zz.py": HEAD + "App(namespace='web')\nService('web', ports={'http': 80})\n"},
        "apps.d/zz.py:3: error: Service 'web' in namespace 'web' is also generated by apps.d/web.py:4",
    ),
    (
        "app-declared-twice",
        {"apps.d/bad.py": HEAD + "App()\nApp()\n"},
        "apps.d/bad.py:3: error: App(...) is declared twice",
    ),
    (
        "unresolved-reference",
        {"apps.d/bad.py": HEAD + "ConfigMap('c', data={'u': ref('web/Service/wbe')})\n"},
        "apps.d/bad.py:2: error: reference 'web/Service/wbe' matches no declared record; did you mean 'web/Service/web'?",
    ),
    (
        "address-kind-in-lower-case",
        {"apps.d/bad.py": HEAD + "ConfigMap('c', data={'u': ref('web/service/web')})\n"},
        "apps.d/bad.py:2: error: reference 'web/service/web' matches no declared record; did you mean 'web/Service/web'?",
    ),
    (
        "str-of-a-reference",
        {
            "apps.d/bad.py": HEAD
            + "s = Service('s', selector={'a': 'b'}, ports={'http': 80})\nConfigMap('c', data={'u': 'http://' + str(s.host)})\n"
        },
        "apps.d/bad.py:3: error: str() of Ref(",
    ),
    (
        "unresolved-attribute",
        {"apps.d/bad.py": HEAD + "ConfigMap('c', data={'u': ref('web/Service/web').hots})\n"},
        "apps.d/bad.py:2: error: reference 'web/Service/web' has no attribute 'hots'",
    ),
    (
        "cross-namespace-read",
        {
            "apps.d/other.py": HEAD + "ConfigMap('settings', data={'a': 'b'})\n",
            "apps.d/bad.py": HEAD
            + "Deployment('reader', containers=[Container('reader', image='nginx:1.27.3', mounts={'/etc/app': ref('other/ConfigMap/settings')})])\n",
        },
        "apps.d/bad.py:2: error: Deployment 'reader' (namespace 'bad') reads ConfigMap 'settings' of namespace 'other'",
    ),
    (
        "cyclic-reference",
        {
            "apps.d/a.py": HEAD + "ConfigMap('c', data={'x': ref('b/ConfigMap/c')})\n",
            "apps.d/b.py": HEAD + "ConfigMap('c', data={'x': ref('a/ConfigMap/c')})\n",
        },
        "apps.d/a.py:2: error: reference cycle: ",
    ),
    (
        "quantity-typo-gb",
        {"apps.d/bad.py": HEAD + "Volume('data', size='10GB')\n"},
        "apps.d/bad.py:2: error: Volume 'size' must be a quantity: '10GB' is not a Kubernetes quantity; write e.g. '10Gi' (binary) or '500M' (for 10GB write 10Gi)",
    ),
    (
        "quantity-negative",
        {"apps.d/bad.py": HEAD + "Volume('data', size='-1Gi')\n"},
        "apps.d/bad.py:2: error: Volume 'size' must be a quantity: '-1Gi' is not a Kubernetes quantity",
    ),
    (
        "quantity-garbage",
        {"apps.d/bad.py": HEAD + "Postgres('db', size='1.5.2Gi')\n"},
        "apps.d/bad.py:2: error: Postgres 'size' must be a quantity",
    ),
    (
        "unknown-tier",
        {"apps.d/bad.py": HEAD + "Volume('data', tier='nvme')\n"},
        "apps.d/bad.py:2: error: Volume tier 'nvme' is not a storage tier of klasterfile.py; use one of ['hdd', 'ssd']",
    ),
    (
        "floating-image-tag",
        {
            "apps.d/bad.py": HEAD
            + "Deployment('d', containers=[Container('d', image='nginx:latest')])\n"
        },
        "apps.d/bad.py:2: error: Deployment 'd' container 'd' image 'nginx' 'latest' is a floating tag",
    ),
    (
        "sliding-image-tag",
        {
            "apps.d/bad.py": HEAD
            + "Deployment('d', containers=[Container('d', image='nginx:1.27')])\n"
        },
        "apps.d/bad.py:2: error: Deployment 'd' container 'd' image 'nginx' '1.27' slides to newer releases",
    ),
    (
        "image-without-tag",
        {"apps.d/bad.py": HEAD + "Deployment('d', containers=[Container('d', image='nginx')])\n"},
        "apps.d/bad.py:2: error: Deployment 'd' container 'd' image 'nginx' has no version",
    ),
    (
        "floating-chart-version",
        {
            "apps.d/bad.py": HEAD
            + "r = HelmRepository('r', url='https://example.org/c')\nHelmRelease('h', source=r, chart='h', version='1')\n"
        },
        "apps.d/bad.py:3: error: HelmRelease 'h' chart version '1' slides",
    ),
    (
        "git-tag-branch",
        {
            "apps.d/bad.py": HEAD
            + "GitRepository('g', url='https://example.org/g.git', tag='master')\n"
        },
        "apps.d/bad.py:2: error: GitRepository 'g' tag 'master' is a floating tag",
    ),
    (
        "privileged-without-exemption",
        {
            "apps.d/bad.py": HEAD
            + "Deployment('d', containers=[Container('d', image='x/y:1.0.0', devices=[HostDevice('/dev/dri', 'Directory')])])\n"
        },
        "apps.d/bad.py:2: error: privileged pods need a PodSecurity exemption in the Talos config",
    ),
    (
        "device-outside-dev",
        {"apps.d/bad.py": HEAD + "HostDevice('/etc/shadow')\n"},
        "apps.d/bad.py:2: error: HostDevice 'path' must be a device under /dev",
    ),
    (
        "host-path-smuggled",
        {
            "apps.d/bad.py": HEAD
            + "Deployment('d', containers=[Container('d', image='x/y:1.0.0')], pod_extra={'volumes': [{'name': 'h', 'hostPath': {'path': '/'}}]})\n"
        },
        "apps.d/bad.py:2: error: bad/Deployment/d: hostPath volumes come only from devices=",
    ),
    (
        "load-balancer-http",
        {
            "apps.d/bad.py": HEAD
            + "LoadBalancer('lb', selector={'a': 'b'}, ports=[Port('http', 80)])\n"
        },
        "apps.d/bad.py:2: error: LoadBalancer 'lb' exposes port http (80/TCP), which looks like HTTP",
    ),
    (
        "ingress-host-taken",
        {
            "apps.d/bad.py": HEAD
            + "ChartIngress('web', sso_reason='public')\nChartIngress('other', host='web', sso_reason='public')\n"
        },
        "apps.d/bad.py:3: error: host 'web.example.org' is already served by bad/ChartIngress/web",
    ),
    (
        "ingress-host-in-two-spellings",
        {
            "apps.d/meridian.py": HEAD + "ChartIngress('meridian', forward_auth=True)\n",
            "apps.d/zz.py": HEAD
            + "ChartIngress('m', host='meridian.example.org', forward_auth=True)\n",
        },
        "apps.d/zz.py:2: error: host 'meridian.example.org' is already served by meridian/ChartIngress/meridian (apps.d/meridian.py:2); pick another host",
    ),
    (
        "load-balancer-dns-name-of-an-ingress",
        {
            "apps.d/meridian.py": HEAD + "ChartIngress('meridian', forward_auth=True)\n",
            "apps.d/zz.py": HEAD
            + "LoadBalancer('voice', selector={'app': 'x'}, ports=[Port('voice', 9987, 'UDP')], dns_name='meridian')\n",
        },
        "apps.d/zz.py:2: error: host 'meridian.example.org' is already served by meridian/ChartIngress/meridian (apps.d/meridian.py:2); pick another host",
    ),
    (
        "ingress-host-outside-domain",
        {"apps.d/bad.py": HEAD + "ChartIngress('web', host='web.evil.com', sso_reason='public')\n"},
        "apps.d/bad.py:2: error: host 'web.evil.com' is outside example.org",
    ),
    (
        "secret-path-not-granted",
        {
            "apps.d/bad.py": HEAD
            + "from klaster_build.records.vault import ServiceAccount, VaultAuth, VaultRole, VaultStaticSecret\nsa = ServiceAccount('sa')\np = VaultPolicy('p', paths={'secret/data/other': ['read']}, reason='shared')\nrole = VaultRole('r', service_accounts=[sa], policies=[p])\nVaultStaticSecret('s', path='mine', auth=VaultAuth('a', role=role, service_account=sa))\n"
        },
        "apps.d/bad.py:6: error: VaultStaticSecret 's' reads 'secret/data/mine' but role 'r' (policies: p) grants no read on it",
    ),
    (
        "policy-grants-more-than-read",
        {"apps.d/bad.py": HEAD + "VaultPolicy('p', paths={'secret/data/x': ['read', 'update']})\n"},
        "apps.d/bad.py:2: error: policy 'p' grants 'secret/data/x' that no secret of its role reads",
    ),
    (
        "plaintext-credential",
        {
            "apps.d/bad.py": HEAD
            + "Deployment('d', containers=[Container('d', image='x/y:1.0.0', env={'DB_PASSWORD': 'hunter2'})])\n"
        },
        "apps.d/bad.py:2: error: container 'd' env DB_PASSWORD holds a literal credential",
    ),
    (
        "secret-key-unknown",
        {"apps.d/bad.py": HEAD + "s = VaultSecret('s', path='x', keys=['token'])\ns.key('tokn')\n"},
        "apps.d/bad.py:3: error: VaultSecret 's' has no key 'tokn'; it declares ['token']",
    ),
    (
        "bundled-database",
        {
            "apps.d/bad.py": HEAD
            + "r = HelmRepository('r', url='https://example.org/c')\nHelmRelease('h', source=r, chart='h', version='1.0.0', values={'postgresql': {'enabled': True}})\n"
        },
        "apps.d/bad.py:3: error: HelmRelease 'h' values set postgresql.enabled: true (a bundled database",
    ),
    (
        "lv-name-clash",
        {
            "apps.d/bad.py": HEAD + "Volume(lv_name='web-lvmhdd')\n",
            "apps.d/zz.py": HEAD + "Volume(lv_name='web-lvmhdd')\n",
        },
        "apps.d/zz.py:2: error: LV name 'web-lvmhdd' is already used by apps.d/bad.py:2",
    ),
    (
        "record-for-another-app",
        {"apps.d/bad.py": HEAD + "ConfigMap('c', data={}, app='web')\n"},
        "apps.d/bad.py:2: error: ConfigMap declares app='web' inside apps.d/bad.py",
    ),
    (
        "read-escapes",
        {"apps.d/bad.py": HEAD + "read('../klasterfile.py')\n"},
        "apps.d/bad.py:2: error: read('../klasterfile.py') must name a file inside apps.d/",
    ),
    (
        "read-missing",
        {"apps.d/bad.py": HEAD + "read('nope.txt')\n"},
        "apps.d/bad.py:2: error: read('nope.txt'): No such file or directory",
    ),
    (
        "system-exit",
        {"apps.d/bad.py": "import sys\nsys.exit(3)\n"},
        "apps.d/bad.py:2: error: SystemExit: 3",
    ),
    (
        "deep-recursion",
        {"apps.d/bad.py": "def f(n):\n    return f(n + 1)\nf(0)\n"},
        "apps.d/bad.py:2: error: recursion too deep",
    ),
    (
        "non-utf8-file",
        {"apps.d/bad.py": b"# caf\xe9\nx = 1\n"},
        "apps.d/bad.py:1: error: file is not UTF-8 text (byte 0xe9); save it as UTF-8",
    ),
    ("nul-bytes", {"apps.d/bad.py": b"x = 1\x00\n"}, "apps.d/bad.py:1: error: "),
    (
        "enormous-file",
        {"apps.d/bad.py": "x = 1\n" * 200_000},
        "apps.d/bad.py:1: error: file is 1200000 bytes; klaster reads files up to 1 MiB",
    ),
    (
        "enormous-value",
        {"apps.d/bad.py": HEAD + "Container('c', image='x' * 100000)\n"},
        "apps.d/bad.py:2: error: Container 'image' must be at most 512 characters, got 100000",
    ),
    (
        "unknown-secret-key",
        {
            "apps.d/bad.py": HEAD
            + "s = VaultSecret('s', path='bad', keys=['token'])\n"
            + "Deployment('d', containers=[Container('d', image='nginx:1.27.3', env={'T': s.key('tokn')})])\n"
        },
        "apps.d/bad.py:3: error: VaultSecret 's' has no key 'tokn'; it declares ['token']",
    ),
    (
        "unknown-cluster-setting",
        {"apps.d/bad.py": HEAD + "ConfigMap('c', data={'d': cluster.domian})\n"},
        "apps.d/bad.py:2: error: cluster has no setting 'domian'",
    ),
    (
        "public-udp-amplifier",
        {
            "apps.d/bad.py": HEAD
            + "LoadBalancer('dns', selector={'app': 'dns'}, ports=[Port('dns', 53, 'UDP', public=True)])\n"
        },
        "apps.d/bad.py:2: error: Port 'dns' (53/UDP, DNS) is a UDP amplifier",
    ),
    (
        "public-port-on-a-service",
        {
            "apps.d/bad.py": HEAD
            + "Service('s', selector={'app': 's'}, ports=[Port('game', 27020, public=True)])\n"
        },
        "apps.d/bad.py:2: error: Service port 'game' is public=True, but only a LoadBalancer's ports",
    ),
    (
        "oidc-template-reads-an-undeclared-key",
        {"apps.d/bad.py": HEAD + "OIDC(templates={'ID': '{{ get .Secrets \"id\" }}'})\n"},
        "apps.d/bad.py:2: error: VaultSecret 'bad-authentik' template 'ID' reads KV key 'id'",
    ),
    (
        "values-set",
        {
            "apps.d/bad.py": HEAD
            + RELEASE
            + "HelmRelease('h', source=r, chart='h', version='1.0.0',\n    values={'ingress': {'hosts': [{'b', 'a'}]}})\n"
        },
        "apps.d/bad.py:4: error: HelmRelease values['ingress']['hosts'][0] is a set; YAML has no sets: write a list, ['a', 'b']",
    ),
    (
        "values-int-key",
        {
            "apps.d/bad.py": HEAD
            + RELEASE
            + "HelmRelease('h', source=r, chart='h', version='1.0.0', values={'ports': {8080: 'http'}})\n"
        },
        "apps.d/bad.py:3: error: HelmRelease values['ports'] has the key 8080 (int); YAML keys here are text: write '8080'",
    ),
    (
        "values-nan",
        {
            "apps.d/bad.py": HEAD
            + RELEASE
            + "HelmRelease('h', source=r, chart='h', version='1.0.0', values={'ratio': float('nan')})\n"
        },
        "apps.d/bad.py:3: error: HelmRelease values['ratio'] is nan, which Kubernetes cannot store (JSON has no NaN or infinity); write a finite number, or the text 'nan' if it is meant as text",
    ),
    (
        "values-not-yaml",
        {
            "apps.d/bad.py": HEAD
            + RELEASE
            + "import datetime\nHelmRelease('h', source=r, chart='h', version='1.0.0', values={'since': datetime.date(2025, 1, 2)})\n"
        },
        "apps.d/bad.py:4: error: HelmRelease values['since'] is a value of type date (datetime.date(2025, 1, 2)), which is not YAML data; write a string, number, True/False, None, list or dict",
    ),
    (
        "values-too-deep",
        {
            "apps.d/bad.py": HEAD
            + RELEASE
            + "deep = {}\nfor _ in range(100_000):\n    deep = {'a': deep}\nHelmRelease('h', source=r, chart='h', version='1.0.0', values=deep)\n"
        },
        "apps.d/bad.py:6: error: HelmRelease values['a']['a']['a']['a']...['a']['a'] nests deeper than 100 levels; no Kubernetes document is this deep: look for a loop that builds the value",
    ),
    (
        "values-contain-themselves",
        {
            "apps.d/bad.py": HEAD
            + RELEASE
            + "v = {'sidecars': []}\nv['sidecars'].append(v)\nHelmRelease('h', source=r, chart='h', version='1.0.0', values=v)\n"
        },
        "apps.d/bad.py:5: error: HelmRelease values['sidecars'][0] contains itself (it is values); YAML cannot write a value inside itself: put a new dict or list there",
    ),
    (
        "manifest-body-not-yaml",
        {
            "apps.d/bad.py": HEAD
            + "Manifest(body={'apiVersion': 'v1', 'kind': 'Secret', 'metadata': {'name': 's'},\n               'data': {'key': b'c2VjcmV0'}})\n"
        },
        "apps.d/bad.py:2: error: Manifest body['data']['key'] is a value of type bytes (b'c2VjcmV0'), which is not YAML data",
    ),
    (
        "env-infinite",
        {
            "apps.d/bad.py": HEAD
            + "Deployment('d', containers=[Container('d', image='x/y:1.0.0', env={'RATE': float('inf')})])\n"
        },
        "apps.d/bad.py:2: error: Deployment containers[0].env['RATE'] is inf, which Kubernetes cannot store",
    ),
    (
        "pod-extra-object-in-data",
        {
            "apps.d/bad.py": HEAD
            + "Deployment('d', containers=[Container('d', image='x/y:1.0.0')],\n    pod_extra={'tolerations': [EmptyDir()]})\n"
        },
        "apps.d/bad.py:3: error: Deployment pod_extra['tolerations'][0] is a value of type EmptyDir (EmptyDir(medium=None, size=None)), which is not YAML data",
    ),
    (
        "text-nul",
        {"apps.d/bad.py": HEAD + "ConfigMap('c', data={'motd': 'hello\\x00world'})\n"},
        "apps.d/bad.py:2: error: ConfigMap data['motd'] contains a NUL character (\\x00): 'hello\\x00world'; remove it (a reference goes into text whole, by an f-string: f'http://{svc.host}')",
    ),
    (
        "text-lone-surrogate",
        {"apps.d/bad.py": HEAD + "PrivilegedNamespace(reason='GPU \\ud83d')\n"},
        "apps.d/bad.py:2: error: PrivilegedNamespace 'reason' contains a lone surrogate '\\ud83d' (half of a UTF-16 pair, not a character): 'GPU \\ud83d'; write the whole character, e.g. '\\U0001f600'",
    ),
    (
        "marker-like-string",
        {"apps.d/bad.py": HEAD + "ConfigMap('c', data={'u': 'http://\\x00123\\x00:80'})\n"},
        "apps.d/bad.py:2: error: ConfigMap data['u'] contains a NUL character (\\x00): 'http://\\x00123\\x00:80'",
    ),
    (
        "reference-cut-out-of-its-f-string",
        {
            "apps.d/bad.py": HEAD
            + "s = Service('s', selector={'a': 'b'}, ports={'http': 80})\nConfigMap('c', data={'u': f'{s.host}'[:-1]})\n"
        },
        "apps.d/bad.py:3: error: ConfigMap data['u'] contains a NUL character (\\x00):",
    ),
    (
        "klasterfile-nul",
        {
            "klasterfile.py": KLASTERFILE.replace(
                '"https://auth.example.org"', '"https://auth.example.org\\x00"'
            )
        },
        "klasterfile.py:14: error: Cluster 'authentik_url' contains a NUL character (\\x00)",
    ),
    (
        "klasterfile-wrong-type",
        {"klasterfile.py": KLASTERFILE.replace('nodes=[Node(name="node1")]', 'nodes="node1"')},
        "klasterfile.py:3: error: Cluster 'nodes' must be a non-empty list of Node(...)",
    ),
    (
        "klasterfile-no-cluster",
        {"klasterfile.py": "x = 1\n"},
        "klasterfile.py:1: error: klasterfile.py must declare exactly one Cluster(...), found 0",
    ),
    (
        "klasterfile-bad-duration",
        {"klasterfile.py": KLASTERFILE.replace('helm_release="30m"', 'helm_release="30 minutes"')},
        "klasterfile.py:",
    ),
    (
        "klasterfile-out-dir-escape",
        {"klasterfile.py": KLASTERFILE.replace("\n)\n", '\n    out_dir="../elsewhere",\n)\n')},
        "klasterfile.py:3: error: Cluster 'out_dir' must be a directory inside the project",
    ),
    (
        "klasterfile-declares-app-record",
        {
            "klasterfile.py": KLASTERFILE
            + "from klaster_build.dsl import ConfigMap\nConfigMap('c', data={})\n"
        },
        "klasterfile.py:19: error: klasterfile.py declares only Cluster(...); move ConfigMap to an apps.d file",
    ),
]


def test_corpus_is_large_and_distinct() -> None:
    """At least 40 distinct cases."""
    assert len(CASES) >= 40
    assert len({c[0] for c in CASES}) == len(CASES)


@pytest.mark.parametrize(("case", "files", "expected"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_one_located_error_and_nothing_is_written(
    project: ProjectDir, run, no_color, case, files, expected
) -> None:
    """Exit 2, the exact location and message first, no traceback, out/ byte-identical."""
    _assert_refused(project, run, files, expected)


def _assert_refused(project: ProjectDir, run, files: dict[str, str | bytes], expected: str) -> None:
    project.app("web", GOOD)
    assert run("build")[0] == 0
    before = project.snapshot()
    for relative, content in files.items():
        target = project.root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content)
    code, out, err = run("build")
    assert code == 2, err
    assert err.startswith(expected), err
    assert "Traceback" not in err + out
    assert err.rstrip().splitlines()[-1].startswith("klaster: ") and "nothing was written" in err
    assert project.snapshot() == before
    code, _, err = run("build", "--check")
    assert code == 2


# User code that never ends, under a short limit (the default is 30 s).
ENDLESS: list[tuple[str, dict[str, str | bytes], str]] = [
    (
        "endless-loop",
        {"apps.d/bad.py": HEAD + "n = 0\nwhile True: n += 1\n"},
        "apps.d/bad.py:3: error: did not finish in 0.3 s; this line was running then: look for an endless loop (a slow file may take longer: set KLASTER_LOAD_TIMEOUT=SECONDS, 0 for no limit)",
    ),
    (
        "endless-loop-catching-exceptions",
        {
            "apps.d/bad.py": HEAD
            + "import time\ndef wait():\n    while True:\n        try:\n            time.sleep(5)\n        except Exception:\n            pass\nwait()\n"
        },
        "apps.d/bad.py:6: error: did not finish in 0.3 s",
    ),
    (
        "klasterfile-endless-loop",
        {"klasterfile.py": KLASTERFILE + "while True: pass\n"},
        "klasterfile.py:18: error: did not finish in 0.3 s",
    ),
]


@pytest.mark.parametrize(("case", "files", "expected"), ENDLESS, ids=[c[0] for c in ENDLESS])
def test_user_code_that_never_ends_is_stopped_where_it_runs(
    project: ProjectDir, run, no_color, monkeypatch, case, files, expected
) -> None:
    """$KLASTER_LOAD_TIMEOUT bounds each file; the error is at the line that was running."""
    monkeypatch.setenv("KLASTER_LOAD_TIMEOUT", "0.3")
    _assert_refused(project, run, files, expected)


@pytest.mark.parametrize("value", ["soon", "-1", "nan", "inf"])
def test_a_time_limit_that_is_no_number_of_seconds_is_refused(
    project: ProjectDir, run, no_color, monkeypatch, value: str
) -> None:
    """A wrong $KLASTER_LOAD_TIMEOUT is said before any file runs (not blamed on a file)."""
    project.app("web", GOOD)
    monkeypatch.setenv("KLASTER_LOAD_TIMEOUT", value)
    code, _, err = run("build")
    assert code == 2
    assert err == (
        "klaster: error: KLASTER_LOAD_TIMEOUT must be a number of seconds (0: no limit), "
        f"got {value!r}\n"
    )
    assert not project.out.exists()
