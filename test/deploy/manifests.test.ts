import { execFileSync, spawnSync } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Certificate, ClusterIssuer } from "@kubernetes-models/cert-manager/cert-manager.io/v1";
import { Deployment } from "kubernetes-models/apps/v1";
import { CronJob } from "kubernetes-models/batch/v1";
import { NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1";
import { ConfigMap, Namespace, PersistentVolumeClaim, Secret, Service, ServiceAccount } from "kubernetes-models/v1";
import { parseAllDocuments, parse } from "yaml";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/parse.js";
import { tempDir } from "../support/tmp.js";
import { makeRuntimePki } from "../support/pki.js";
import { imageNodeOptions } from "../support/measured-cli.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const KUSTOMIZATIONS = ["deploy/base", "deploy/overlays/dry-run", "deploy/sidecar", "deploy/examples/haproxy", "deploy/examples/cert-manager"];

type Manifest = { apiVersion: string; kind: string; metadata: { name: string }; [key: string]: unknown };

const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  "apps/v1/Deployment": Deployment,
  "batch/v1/CronJob": CronJob,
  "cert-manager.io/v1/Certificate": Certificate,
  "cert-manager.io/v1/ClusterIssuer": ClusterIssuer,
  "networking.k8s.io/v1/NetworkPolicy": NetworkPolicy,
  "v1/ConfigMap": ConfigMap,
  "v1/PersistentVolumeClaim": PersistentVolumeClaim,
  "v1/Secret": Secret,
  "v1/Namespace": Namespace,
  "v1/Service": Service,
  "v1/ServiceAccount": ServiceAccount,
};

const kubectl = spawnSync("kubectl", ["version", "--client"], { encoding: "utf8" }).status === 0;
if (!kubectl) console.warn("kubectl is not installed: skipping `kubectl kustomize` renders; schema checks run on the source files");

function documents(text: string): Manifest[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as Manifest | null)
    .filter((d): d is Manifest => d !== null);
}

/** What kustomize would apply: rendered by kubectl when present, else the listed source files. */
function manifests(dir: string): Manifest[] {
  if (kubectl) return documents(execFileSync("kubectl", ["kustomize", join(ROOT, dir)], { encoding: "utf8" }));
  const kustomization = parse(readFileSync(join(ROOT, dir, "kustomization.yaml"), "utf8")) as { resources: string[] };
  return kustomization.resources.flatMap((r) => (r.endsWith(".yaml") ? documents(readFileSync(join(ROOT, dir, r), "utf8")) : manifests(join(dir, r))));
}

function find(list: Manifest[], kind: string): Manifest {
  const found = list.find((m) => m.kind === kind);
  if (!found) throw new Error(`no ${kind}`);
  return found;
}

type CronJobShape = {
  spec: {
    concurrencyPolicy: string;
    startingDeadlineSeconds: number;
    successfulJobsHistoryLimit: number;
    failedJobsHistoryLimit: number;
    suspend?: boolean;
    jobTemplate: {
      spec: {
        backoffLimit: number;
        activeDeadlineSeconds: number;
        template: {
          spec: {
            restartPolicy: string;
            automountServiceAccountToken: boolean;
            securityContext: Record<string, unknown>;
            containers: Array<{
              image: string;
              args: string[];
              env: Array<{ name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string }; secretKeyRef?: { name: string; key: string } } }>;
              securityContext: Record<string, unknown>;
              resources: { requests: Record<string, string>; limits: Record<string, string> };
            }>;
          };
        };
      };
    };
  };
};

interface Container {
  name: string;
  args?: string[];
  ports?: Array<{ name?: string; containerPort: number; hostPort?: number }>;
  readinessProbe?: { httpGet?: { path: string; port: string | number } };
  volumeMounts?: Array<{ name: string; mountPath: string; readOnly?: boolean }>;
  securityContext?: {
    privileged?: boolean;
    allowPrivilegeEscalation?: boolean;
    runAsNonRoot?: boolean;
    runAsUser?: number;
    capabilities?: { drop?: string[]; add?: string[] };
    seccompProfile?: { type: string };
    procMount?: string;
  };
}

interface PodSpec {
  hostNetwork?: boolean;
  hostPID?: boolean;
  hostIPC?: boolean;
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number; seccompProfile?: { type: string }; sysctls?: unknown[] };
  containers: Container[];
  initContainers?: Container[];
  volumes?: Array<{
    name: string;
    emptyDir?: object;
    secret?: { secretName: string };
    persistentVolumeClaim?: { claimName: string; readOnly?: boolean };
    [type: string]: unknown;
  }>;
}

interface JobSpec {
  backoffLimit: number;
  activeDeadlineSeconds: number;
  podFailurePolicy: { rules: unknown[] };
  template: { spec: PodSpec & { restartPolicy: string } };
}

function podSpecOf(m: Manifest): PodSpec | undefined {
  const spec = m.spec as { template?: { spec: PodSpec }; jobTemplate?: { spec: { template: { spec: PodSpec } } } } | undefined;
  return spec?.jobTemplate?.spec.template.spec ?? spec?.template?.spec;
}

const RESTRICTED_VOLUMES = ["configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret"];

/** The Pod Security Standard "restricted" (baseline included), checked field by field. */
function restrictedViolations(pod: PodSpec): string[] {
  const found: string[] = [];
  for (const key of ["hostNetwork", "hostPID", "hostIPC"] as const) if (pod[key]) found.push(`${key} is set`);
  for (const v of pod.volumes ?? []) {
    const type = Object.keys(v).find((k) => k !== "name") ?? "";
    if (!RESTRICTED_VOLUMES.includes(type)) found.push(`volume ${v.name} is ${type}`);
  }
  if (pod.securityContext?.sysctls?.length) found.push("sysctls are set");
  if (pod.securityContext?.runAsUser === 0) found.push("pod runs as uid 0");
  for (const c of [...pod.containers, ...(pod.initContainers ?? [])]) {
    const sc = c.securityContext ?? {};
    if (sc.privileged) found.push(`${c.name}: privileged`);
    if (sc.allowPrivilegeEscalation !== false) found.push(`${c.name}: allowPrivilegeEscalation is not false`);
    if (!(sc.runAsNonRoot ?? pod.securityContext?.runAsNonRoot)) found.push(`${c.name}: runAsNonRoot is not true`);
    if (sc.runAsUser === 0) found.push(`${c.name}: runs as uid 0`);
    if (!sc.capabilities?.drop?.includes("ALL")) found.push(`${c.name}: capabilities do not drop ALL`);
    for (const cap of sc.capabilities?.add ?? []) if (cap !== "NET_BIND_SERVICE") found.push(`${c.name}: adds capability ${cap}`);
    const seccomp = sc.seccompProfile?.type ?? pod.securityContext?.seccompProfile?.type;
    if (seccomp !== "RuntimeDefault" && seccomp !== "Localhost") found.push(`${c.name}: seccompProfile is ${seccomp ?? "unset"}`);
    if (sc.procMount && sc.procMount !== "Default") found.push(`${c.name}: procMount ${sc.procMount}`);
    for (const p of c.ports ?? []) if (p.hostPort) found.push(`${c.name}: hostPort ${p.hostPort}`);
  }
  return found;
}

describe("Pod Security 'restricted' check itself", () => {
  const good: PodSpec = {
    securityContext: { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } },
    containers: [{ name: "c", securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } } }],
    volumes: [{ name: "v", emptyDir: {} }],
  };
  it.each([
    ["a restricted pod", (p: PodSpec) => p, []],
    ["hostNetwork", (p: PodSpec) => ({ ...p, hostNetwork: true }), ["hostNetwork is set"]],
    ["a hostPath volume", (p: PodSpec) => ({ ...p, volumes: [{ name: "h", hostPath: { path: "/" } }] }), ["volume h is hostPath"]],
    [
      "privilege escalation",
      (p: PodSpec) => ({ ...p, containers: [{ name: "c", securityContext: { capabilities: { drop: ["ALL"] } } }] }),
      ["c: allowPrivilegeEscalation is not false"],
    ],
    [
      "an added capability",
      (p: PodSpec) => ({
        ...p,
        containers: [{ name: "c", securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"], add: ["NET_ADMIN"] } } }],
      }),
      ["c: adds capability NET_ADMIN"],
    ],
    ["no seccomp profile", (p: PodSpec) => ({ ...p, securityContext: { runAsNonRoot: true } }), ["c: seccompProfile is unset"]],
  ])("%s", (_name, change, expected) => expect(restrictedViolations(change(good))).toEqual(expected));
});

describe("Kubernetes manifests", () => {
  it.each(KUSTOMIZATIONS)("%s renders and every object passes the Kubernetes schema", (dir) => {
    const list = manifests(dir);
    expect(list.length).toBeGreaterThan(0);
    for (const m of list) {
      const Model = MODELS[`${m.apiVersion}/${m.kind}`];
      expect(Model, `${m.apiVersion} ${m.kind} has a schema`).toBeDefined();
      expect(() => new (Model as NonNullable<typeof Model>)(m as never).validate(), `${m.kind} ${m.metadata.name}`).not.toThrow();
    }
  });

  it("every source file passes the schema, rendered or not", () => {
    const files = [
      "deploy/base",
      "deploy/overlays/dry-run",
      "deploy/sidecar",
      "deploy/examples/haproxy",
      "deploy/examples/cert-manager",
      "deploy/examples",
    ].flatMap((dir) =>
      readdirSync(join(ROOT, dir))
        .filter((f) => f.endsWith(".yaml") && f !== "kustomization.yaml")
        .map((f) => join(ROOT, dir, f)),
    );
    for (const file of files) {
      for (const m of documents(readFileSync(file, "utf8"))) {
        const Model = MODELS[`${m.apiVersion}/${m.kind}`];
        expect(Model, file).toBeDefined();
        expect(() => new (Model as NonNullable<typeof Model>)(m as never).validate(), file).not.toThrow();
      }
    }
  });

  it("the CronJob runs one sync at a time, never retries in a loop, and is restricted", () => {
    const cron = find(manifests("deploy/base"), "CronJob") as unknown as CronJobShape;
    expect(cron.spec).toMatchObject({
      concurrencyPolicy: "Forbid",
      startingDeadlineSeconds: expect.any(Number),
      successfulJobsHistoryLimit: 3,
      failedJobsHistoryLimit: 5,
    });
    const job = cron.spec.jobTemplate.spec;
    expect(job.backoffLimit).toBeLessThanOrEqual(1);
    expect(job.activeDeadlineSeconds).toBeGreaterThan(0);
    const pod = job.template.spec;
    expect(pod).toMatchObject({ restartPolicy: "Never", automountServiceAccountToken: false });
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 65532, seccompProfile: { type: "RuntimeDefault" } });
    const [container] = pod.containers;
    expect(container?.securityContext).toEqual({
      runAsNonRoot: true,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] },
      seccompProfile: { type: "RuntimeDefault" },
    });
    expect(Object.keys(container?.resources.requests ?? {}).sort()).toEqual(["cpu", "memory"]);
    expect(Object.keys(container?.resources.limits ?? {}).sort()).toEqual(["cpu", "memory"]);
    const env = Object.fromEntries((container?.env ?? []).map((e) => [e.name, e]));
    expect(env.POD_NAME?.valueFrom?.fieldRef?.fieldPath).toBe("metadata.name");
    expect(env.POD_NAMESPACE?.valueFrom?.fieldRef?.fieldPath).toBe("metadata.namespace");
    expect(env.SLACK_WEBHOOK_URL?.valueFrom?.secretKeyRef).toEqual({ name: "travis-allowlist-alerts", key: "slack-webhook-url", optional: true });
    expect(env.TRAVIS_ALLOWLIST_TRIGGER?.value).toBe("scheduled");
    expect(container?.args).toEqual(["sync"]);
  });

  it("the service account has no token; the audit trail has a volume claim", () => {
    const list = manifests("deploy/base");
    expect(find(list, "ServiceAccount")).toMatchObject({ automountServiceAccountToken: false });
    expect(find(list, "PersistentVolumeClaim")).toMatchObject({ spec: { accessModes: ["ReadWriteOnce"] } });
  });

  it("the NetworkPolicy admits nothing and lets out only DNS, the runtime port and the alert endpoints", () => {
    const policy = find(manifests("deploy/base"), "NetworkPolicy") as unknown as {
      spec: { policyTypes: string[]; ingress: unknown[]; egress: Array<{ ports: Array<{ port: number; protocol: string }> }> };
    };
    expect(policy.spec.policyTypes.sort()).toEqual(["Egress", "Ingress"]);
    expect(policy.spec.ingress).toEqual([]);
    const ports = policy.spec.egress.flatMap((rule) => rule.ports.map((p) => `${p.protocol}/${p.port}`)).sort();
    expect(ports).toEqual(["TCP/443", "TCP/53", "TCP/9091", "TCP/9093", "TCP/9999", "UDP/53"]);
  });

  it("the ConfigMap holds a config the tool accepts", () => {
    const configMap = find(manifests("deploy/base"), "ConfigMap") as unknown as { data: Record<string, string> };
    const parsed = parseConfig(configMap.data["travis-allowlist.yaml"] as string, { SLACK_WEBHOOK_URL: "https://hooks.slack.com/services/T/B/X" });
    expect(parsed.issues).toEqual([]);
    expect(parsed.config?.audit.path).toBe("/var/lib/travis-allowlist/audit.jsonl");
  });

  it("the dry-run overlay is suspended, only runs sync --dry-run, and reads the sync job's own state read-only", () => {
    const list = manifests("deploy/overlays/dry-run");
    // No state, config or certificate of its own: it reads what the scheduled job uses.
    expect(list.map((m) => m.kind)).toEqual(["CronJob"]);
    const cron = find(list, "CronJob") as unknown as CronJobShape & { metadata: { name: string } };
    const base = find(manifests("deploy/base"), "CronJob") as unknown as CronJobShape;
    expect(cron.metadata.name).toBe("travis-allowlist-dry-run");
    expect(cron.spec.suspend).toBe(true);
    const pod = cron.spec.jobTemplate.spec.template.spec as unknown as PodSpec;
    const container = pod.containers[0] as Container;
    expect(container.args).toEqual(["sync", "--dry-run"]);
    expect(container.volumeMounts?.find((m) => m.name === "state")).toMatchObject({ mountPath: "/var/lib/travis-allowlist", readOnly: true });
    const basePod = base.spec.jobTemplate.spec.template.spec as unknown as PodSpec;
    const claim = (spec: PodSpec) => spec.volumes?.find((v) => v.name === "state")?.persistentVolumeClaim;
    expect(claim(pod)).toEqual({ ...claim(basePod), readOnly: true });
    // Otherwise the very pod the schedule runs, so that its plan is the next run's plan.
    const normal = (spec: PodSpec) =>
      JSON.parse(
        JSON.stringify(spec).replaceAll(',"readOnly":true', "").replace('["sync","--dry-run"]', '["sync"]').replace('"value":"manual"', '"value":"scheduled"'),
      ) as unknown;
    expect(normal(pod)).toEqual(normal(basePod));
  });

  it("a held run (3) or a bad config (64) fails the Job at once; a failed peer (1) is retried; evictions do not count", () => {
    const job = (find(manifests("deploy/base"), "CronJob") as unknown as { spec: { jobTemplate: { spec: JobSpec } } }).spec.jobTemplate.spec;
    expect(job.podFailurePolicy.rules).toEqual([
      { action: "FailJob", onExitCodes: { containerName: "travis-allowlist", operator: "In", values: [3, 64] } },
      { action: "Ignore", onPodConditions: [{ type: "DisruptionTarget", status: "True" }] },
      { action: "Count", onExitCodes: { containerName: "travis-allowlist", operator: "In", values: [1] } },
    ]);
    expect(job.template.spec.restartPolicy).toBe("Never");
    // Every try may use its whole runTimeout before the Job's deadline ends it.
    const configMap = find(manifests("deploy/base"), "ConfigMap") as unknown as { data: Record<string, string> };
    const config = parseConfig(configMap.data["travis-allowlist.yaml"] as string, {}).config;
    const runTimeoutS = (config?.runTimeoutMs ?? Infinity) / 1000;
    expect(job.activeDeadlineSeconds).toBeGreaterThan((job.backoffLimit + 1) * runTimeoutS);
  });

  it("the job reaches HAProxy over mutual TLS with the certificate cert-manager mounts", () => {
    const list = manifests("deploy/base");
    const configMap = find(list, "ConfigMap") as unknown as { data: Record<string, string> };
    const config = parseConfig(configMap.data["travis-allowlist.yaml"] as string, {}).config;
    const tls = config?.haproxy.tls;
    expect(tls).toEqual({
      ca: "/etc/travis-allowlist/tls/ca.crt",
      cert: "/etc/travis-allowlist/tls/tls.crt",
      key: "/etc/travis-allowlist/tls/tls.key",
      serverName: "haproxy-runtime.edge.svc.cluster.local",
    });
    const pod = (find(list, "CronJob") as unknown as CronJobShape).spec.jobTemplate.spec.template.spec as unknown as PodSpec;
    const mount = pod.containers[0]?.volumeMounts?.find((m) => m.mountPath === "/etc/travis-allowlist/tls");
    expect(mount?.readOnly).toBe(true);
    expect(pod.volumes?.find((v) => v.name === mount?.name)?.secret?.secretName).toBe("travis-allowlist-runtime-tls");
    const certificates = manifests("deploy/examples/cert-manager").filter((m) => m.kind === "Certificate") as unknown as Array<{
      metadata: { name: string };
      spec: { secretName: string; dnsNames?: string[]; usages?: string[] };
    }>;
    expect(certificates.find((c) => c.spec.secretName === "travis-allowlist-runtime-tls")?.spec.usages).toEqual(["client auth"]);
    expect(certificates.find((c) => c.spec.secretName === "haproxy-runtime-tls")?.spec).toMatchObject({
      dnsNames: [tls?.serverName],
      usages: ["server auth"],
    });
  });

  it("alerts on the signals an on-call person must hear: holds, failures, unexpected entries, drift and exposures", () => {
    for (const dir of ["deploy/base", "deploy/sidecar"]) {
      const configMap = manifests(dir).find((m) => m.kind === "ConfigMap") as unknown as { data: Record<string, string> };
      const config = parseConfig(configMap.data["travis-allowlist.yaml"] as string, {}).config;
      expect(config?.alerts?.on, dir).toEqual(expect.arrayContaining(["held", "failed", "unexpected", "drift", "exposure"]));
    }
  });

  it("without the optional alert Secret the config is still valid, with the Slack sink off", () => {
    for (const dir of ["deploy/base", "deploy/sidecar"]) {
      const configMap = manifests(dir).find((m) => m.kind === "ConfigMap") as unknown as { data: Record<string, string> };
      const parsed = parseConfig(configMap.data["travis-allowlist.yaml"] as string, {});
      expect(parsed.issues, dir).toEqual([]);
      expect(parsed.config?.alerts?.sinks, dir).toEqual([]);
      const withSecret = parseConfig(configMap.data["travis-allowlist.yaml"] as string, { SLACK_WEBHOOK_URL: "https://hooks.slack.com/services/T/B/X" });
      expect(withSecret.config?.alerts?.sinks, dir).toEqual([expect.objectContaining({ type: "slack", url: "https://hooks.slack.com/services/T/B/X" })]);
    }
  });

  it.each(KUSTOMIZATIONS)("every pod in %s meets the Pod Security 'restricted' profile, rule by rule", (dir) => {
    for (const m of manifests(dir)) {
      const pod = podSpecOf(m);
      if (pod) expect(restrictedViolations(pod), `${m.kind} ${m.metadata.name}`).toEqual([]);
    }
  });

  it("the job, its dry-run twin, its certificate and its alert Secret share one namespace, held to 'restricted', which the HAProxy side admits", () => {
    const base = manifests("deploy/base");
    const namespace = find(base, "Namespace") as unknown as { metadata: { name: string; labels: Record<string, string> } };
    expect(namespace.metadata.labels["pod-security.kubernetes.io/enforce"]).toBe("restricted");
    const ns = namespace.metadata.name;
    for (const m of [...base.filter((m) => m.kind !== "Namespace"), ...manifests("deploy/overlays/dry-run")]) {
      expect((m.metadata as { namespace?: string }).namespace, `${m.kind} ${m.metadata.name}`).toBe(ns);
    }
    const client = manifests("deploy/examples/cert-manager").find(
      (m) => m.kind === "Certificate" && (m.spec as { secretName: string }).secretName === "travis-allowlist-runtime-tls",
    );
    expect((client?.metadata as { namespace?: string }).namespace).toBe(ns);
    const secret = documents(readFileSync(join(ROOT, "deploy/examples/secret.example.yaml"), "utf8"))[0] as Manifest;
    expect((secret.metadata as { namespace?: string }).namespace).toBe(ns);
    const policy = find(manifests("deploy/examples/haproxy"), "NetworkPolicy") as unknown as {
      spec: { ingress: Array<{ from?: Array<{ namespaceSelector?: { matchLabels: Record<string, string> } }> }> };
    };
    expect(policy.spec.ingress.flatMap((r) => r.from ?? []).map((f) => f.namespaceSelector?.matchLabels["kubernetes.io/metadata.name"])).toEqual([ns]);
  });

  it("the HAProxy side admits only the job's pods to the TLS runtime port", () => {
    const policy = find(manifests("deploy/examples/haproxy"), "NetworkPolicy") as unknown as {
      spec: { ingress: Array<{ from?: Array<{ podSelector?: { matchLabels: Record<string, string> } }>; ports: Array<{ port: number }> }> };
    };
    const runtime = policy.spec.ingress.filter((rule) => rule.ports.some((p) => p.port === 9999));
    expect(runtime).toHaveLength(1);
    expect(runtime[0]?.ports).toEqual([{ protocol: "TCP", port: 9999 }]);
    expect(runtime[0]?.from?.map((f) => f.podSelector?.matchLabels)).toEqual([{ "app.kubernetes.io/name": "travis-allowlist" }]);
  });

  it("the HAProxy example is a headless Service on the runtime port", () => {
    expect(find(manifests("deploy/examples/haproxy"), "Service")).toMatchObject({ spec: { clusterIP: "None", ports: [{ name: "runtime", port: 9999 }] } });
  });
});

describe("sidecar mode", () => {
  const list = manifests("deploy/sidecar");
  const deployment = find(list, "Deployment") as unknown as { spec: { template: { spec: PodSpec } } };
  const pod = deployment.spec.template.spec;
  const configMap = find(list, "ConfigMap") as unknown as { data: Record<string, string> };
  const config = parseConfig(configMap.data["travis-allowlist.yaml"] as string, {}).config;
  const haproxy = pod.containers.find((c) => c.name === "haproxy") as Container;
  const daemon = pod.containers.find((c) => c.name === "travis-allowlist") as Container;

  it("runs the daemon next to HAProxy, sharing only the runtime socket's emptyDir", () => {
    expect(daemon.args).toEqual(["daemon"]);
    const socket = config?.haproxy.sockets[0] ?? "";
    expect(config?.haproxy.sockets).toEqual([expect.stringMatching(/^unix:\/\//)]);
    const socketDir = socket.slice("unix://".length).replace(/\/[^/]+$/, "");
    const shared = (c: Container) => c.volumeMounts?.find((m) => m.mountPath === socketDir)?.name;
    expect(shared(haproxy)).toBeDefined();
    expect(shared(daemon)).toBe(shared(haproxy));
    expect(pod.volumes?.find((v) => v.name === shared(haproxy))?.emptyDir).toBeDefined();
    // HAProxy opens exactly that socket, and no runtime API on the network.
    expect(configMap.data["haproxy.cfg"]).toContain(`stats socket ${socket.slice("unix://".length)} mode 600 level admin`);
    expect(configMap.data["haproxy.cfg"]).not.toMatch(/stats socket (ipv4@|ipv6@|:|\d)/);
    expect(configMap.data["haproxy.cfg"]).not.toMatch(/\blisten runtime/);
  });

  it("HAProxy loads the map file the daemon persists in a shared emptyDir, so a restarted container starts from the current list; no runtime port", () => {
    const map = config?.haproxy.map ?? "";
    expect(config?.haproxy.persist).toBe(true);
    expect(configMap.data["haproxy.cfg"]).toContain(`src,map_ip(${map})`);
    const mapDir = map.replace(/\/[^/]+$/, "");
    const volumeAt = (c: Container) => c.volumeMounts?.find((m) => m.mountPath === mapDir);
    expect(volumeAt(haproxy)?.readOnly).toBe(true);
    expect(volumeAt(daemon)?.readOnly).toBeUndefined();
    expect(volumeAt(daemon)?.name).toBe(volumeAt(haproxy)?.name);
    expect(pod.volumes?.find((v) => v.name === volumeAt(haproxy)?.name)?.emptyDir).toBeDefined();
    // The file exists before HAProxy's first start.
    const seed = pod.initContainers?.[0];
    expect(seed?.volumeMounts?.map((m) => m.mountPath)).toEqual([mapDir]);
    expect(JSON.stringify((seed as Container & { command?: string[] }).command)).toContain(map);
    const ports = pod.containers.flatMap((c) => (c.ports ?? []).map((p) => p.containerPort));
    expect(ports.sort()).toEqual([8080, 9464]);
  });

  it("the pod is ready only once the daemon has synced the HAProxy process it runs with; restarts are watched", () => {
    expect(config?.metrics?.listen).toBe("0.0.0.0:9464");
    expect(daemon.readinessProbe?.httpGet).toEqual({ path: "/readyz", port: "metrics" });
    expect(daemon.ports).toEqual([{ name: "metrics", containerPort: 9464 }]);
    expect(config?.watchIntervalMs).toBeLessThanOrEqual(5000);
  });

  it("the shipped haproxy.cfg files are accepted by HAProxy itself (haproxy -c)", async () => {
    const dir = await tempDir("ta-deploy-cfg-");
    try {
      const pki = makeRuntimePki(dir.path);
      writeFileSync(join(dir.path, "server.crt"), readFileSync(pki.serverPem));
      const sidecar = configMap.data["haproxy.cfg"] as string;
      const example = readFileSync(join(ROOT, "deploy/examples/haproxy/haproxy.cfg"), "utf8");
      const cases = [
        [
          "sidecar",
          sidecar
            .replaceAll("/usr/local/etc/haproxy/", `${dir.path}/`)
            .replaceAll("/var/lib/haproxy-maps/", `${dir.path}/`)
            .replaceAll("/var/run/haproxy/", `${dir.path}/`)
            .replace("staging-api.edge.svc.cluster.local:8080", "127.0.0.1:9"),
        ],
        [
          "CronJob + TLS",
          example
            .replaceAll("/etc/haproxy/runtime/server.crt", join(dir.path, "server.crt"))
            .replaceAll("/etc/haproxy/runtime/ca.crt", pki.ca)
            .replaceAll("/etc/haproxy/certs/", join(dir.path, "server.crt"))
            .replaceAll("/etc/haproxy/maps/", `${dir.path}/`)
            .replaceAll("/var/run/haproxy/", `${dir.path}/`)
            .replace("staging-api.edge.svc.cluster.local:8080", "127.0.0.1:9"),
        ],
      ] as const;
      writeFileSync(join(dir.path, "travis.map"), "");
      for (const [name, text] of cases) {
        const file = join(dir.path, `${name.replace(/\W+/g, "-")}.cfg`);
        writeFileSync(file, text);
        const check = spawnSync("haproxy", ["-c", "-f", file], { encoding: "utf8" });
        expect(check.status, `${name}: ${check.stderr}`).toBe(0);
        // A frontend without `mode http` accepts http-request rules and ignores them: the allowlist would admit everyone.
        expect(check.stderr, name).not.toMatch(/ignored|missing timeouts/);
      }
    } finally {
      await dir.remove();
    }
  });
});

/** A Kubernetes memory quantity in MiB (the manifests write Mi or Gi). */
function mebibytes(quantity: string): number {
  const match = /^(\d+)(Mi|Gi)$/.exec(quantity);
  if (!match) throw new Error(`unexpected memory quantity ${quantity}`);
  return Number(match[1]) * (match[2] === "Gi" ? 1024 : 1);
}

/** Node's heap as NODE_OPTIONS sizes it: old space, and young space (three semi-spaces' worth). */
function heapMib(nodeOptions: string): { oldSpace: number; youngSpace: number } {
  const flag = (name: string) => Number(new RegExp(`(?:^| )--${name}=(\\d+)(?: |$)`).exec(nodeOptions)?.[1] ?? NaN);
  return { oldSpace: flag("max-old-space-size"), youngSpace: 3 * flag("max-semi-space-size") };
}

/**
 * What a Node process needs outside its heap: code, stacks, buffers and sockets. Beside a
 * 166 MiB heap the runs measured in docs/kubernetes.md ("Memory") took 45-75 MiB more.
 */
const OUTSIDE_HEAP_MIB = 80;

describe("memory: Node's heap within the container's limit", () => {
  type ToolContainer = Container & {
    image: string;
    command?: string[];
    env?: Array<{ name: string; value?: string }>;
    resources?: { limits?: { memory?: string } };
  };
  /** Every container that runs the CLI from the image (the seed-map init container runs a one-line script of its own). */
  const containers = ["deploy/base", "deploy/overlays/dry-run", "deploy/sidecar"].flatMap((dir) =>
    manifests(dir).flatMap((m) =>
      [...(podSpecOf(m)?.containers ?? []), ...(podSpecOf(m)?.initContainers ?? [])]
        .map((c) => c as ToolContainer)
        .filter((c) => /(^|\/)travis-allowlist([:@]|$)/.test(c.image) && !c.command)
        .map((c) => ({ where: `${dir}: ${m.kind} ${m.metadata.name}, container ${c.name}`, container: c })),
    ),
  );

  it("the image caps Node's heap so that heap and what lies outside it fit 256 MiB, the limit the memory invariant holds a run to", () => {
    const heap = heapMib(imageNodeOptions());
    expect(heap.oldSpace).toBeGreaterThan(0);
    expect(heap.youngSpace).toBeGreaterThan(0);
    expect(heap.oldSpace + heap.youngSpace + OUTSIDE_HEAP_MIB).toBeLessThanOrEqual(256);
  });

  it("the CronJob, its dry-run twin and the sidecar daemon each set the image's NODE_OPTIONS, under a memory limit it fits", () => {
    expect(containers.map((c) => c.where)).toEqual([
      "deploy/base: CronJob travis-allowlist, container travis-allowlist",
      "deploy/overlays/dry-run: CronJob travis-allowlist-dry-run, container travis-allowlist",
      "deploy/sidecar: Deployment haproxy, container travis-allowlist",
    ]);
    const nodeOptions = imageNodeOptions();
    const heap = heapMib(nodeOptions);
    for (const { where, container } of containers) {
      const set = (container.env ?? []).filter((e) => e.name === "NODE_OPTIONS");
      expect(set, where).toEqual([{ name: "NODE_OPTIONS", value: nodeOptions }]);
      const limit = mebibytes(container.resources?.limits?.memory ?? "0Mi");
      const needed = heap.oldSpace + heap.youngSpace + OUTSIDE_HEAP_MIB;
      expect(needed, where).toBeLessThanOrEqual(limit);
      // A limit raised without the heap would stay unused: V8 does not grow past its flags.
      expect(limit - needed, where).toBeLessThan(64);
    }
  });

  it("the check itself: a heap too large for the limit, or NODE_OPTIONS unlike the image's, is caught", () => {
    const big = heapMib("--max-old-space-size=176 --max-semi-space-size=2");
    expect(big.oldSpace + big.youngSpace + OUTSIDE_HEAP_MIB).toBeGreaterThan(256);
    expect(heapMib("--max-old-space-size=160")).toEqual({ oldSpace: 160, youngSpace: NaN });
    expect(mebibytes("1Gi")).toBe(1024);
  });
});

describe("container image", () => {
  const dockerfile = readFileSync(join(ROOT, "Dockerfile"), "utf8");
  const instructions = dockerfile
    .split("\n")
    .filter((l) => l.trim() !== "" && !l.trim().startsWith("#"))
    .join("\n")
    .replace(/\\\n\s*/g, " ")
    .split("\n");

  it("runs on a supported distroless Node base (Debian 13) and builds on the same Debian", () => {
    const froms = instructions.filter((l) => l.startsWith("FROM "));
    expect(froms[0]).toMatch(/^FROM node:\d+-trixie-slim AS build$/);
    expect(froms[1]).toMatch(/^FROM gcr\.io\/distroless\/nodejs(22|24)-debian13:nonroot(@sha256:[0-9a-f]{64})?$/);
  });

  it("is multi-stage: builds with dev dependencies, ships production ones only", () => {
    expect(instructions.filter((l) => l.startsWith("FROM "))).toHaveLength(2);
    expect(instructions).toContain("RUN npm ci --no-audit --no-fund");
    expect(instructions).toContain("RUN npm run build && npm prune --omit=dev");
    expect(instructions.at(-1)).toBe('CMD ["sync"]');
  });

  it("sets NODE_OPTIONS once, in the runtime stage", () => {
    const froms = instructions.flatMap((l, i) => (l.startsWith("FROM ") ? [i] : []));
    const runtime = instructions.slice(froms.at(-1));
    expect(runtime.filter((l) => l.includes("NODE_OPTIONS"))).toEqual([`ENV NODE_OPTIONS="${imageNodeOptions()}"`]);
    expect(instructions.filter((l) => l.includes("NODE_OPTIONS"))).toHaveLength(1);
  });

  it("runs as the numeric user the manifests expect, with the CLI as entrypoint", () => {
    expect(instructions).toContain("USER 65532:65532");
    const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { bin: Record<string, string> };
    expect(instructions).toContain(`ENTRYPOINT ["/nodejs/bin/node", "/app/${pkg.bin["travis-allowlist"]}"]`);
  });

  it("the built CLI imports nothing outside the production dependencies", () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { dependencies: Record<string, string> };
    const walk = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith(".js") ? [join(dir, e.name)] : []));
    const imported = new Set<string>();
    for (const file of walk(join(ROOT, "dist"))) {
      for (const match of readFileSync(file, "utf8").matchAll(/(?<![.\w])(?:from|import)\s*\(?\s*"([^".][^"]*)"/g)) {
        const name = (match[1] as string).startsWith("@") ? (match[1] as string).split("/").slice(0, 2).join("/") : (match[1] as string).split("/")[0];
        if (!(name as string).startsWith("node:")) imported.add(name as string);
      }
    }
    expect(imported.size).toBeGreaterThan(5);
    for (const name of imported) expect(Object.keys(pkg.dependencies), `${name} must be a production dependency`).toContain(name);
  });
});

describe(".travis.yml", () => {
  const travis = parse(readFileSync(join(ROOT, ".travis.yml"), "utf8")) as {
    node_js: string[];
    addons: { apt: { packages: string[] } };
    install: string[];
    script: string[];
    stages: Array<string | { name: string; if: string }>;
    jobs: { include: Array<{ stage: string; node_js?: string; deploy: { provider: string; script: string; on: { tags: boolean } } }> };
  };

  it("tests on Node 20, 22 and 24 with HAProxy installed", () => {
    expect(travis.node_js).toEqual(["20", "22", "24"]);
    expect(travis.addons.apt.packages).toContain("haproxy");
    expect(travis.install).toEqual(["npm ci"]);
    expect(travis.script).toEqual(["npm run lint", "npm test"]);
  });

  it("the image runs a Node major that CI tests: the Dockerfile's build and runtime images, .ci/run's second suite and the deploy stage agree", () => {
    const dockerfile = readFileSync(join(ROOT, "Dockerfile"), "utf8");
    const majors = [...dockerfile.matchAll(/^FROM \S*node(?::|js)(\d+)/gm)].map((m) => m[1]);
    expect(majors).toHaveLength(2);
    expect(new Set(majors).size).toBe(1);
    const ci = readFileSync(join(ROOT, ".ci/run"), "utf8");
    expect(ci).toContain(`IMAGE_NODE_MAJOR=${majors[0]}\n`);
    expect(travis.node_js).toContain(majors[0]);
    expect(travis.jobs.include.find((j) => j.stage === "deploy")).toMatchObject({ node_js: majors[0] });
    // The oldest tested major is the one package.json promises.
    const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { engines: { node: string } };
    expect(pkg.engines.node).toMatch(new RegExp(`^>=${travis.node_js[0]}\\.`));
  });

  it("pushes the image only from tags, without ever printing the credentials", () => {
    expect(travis.stages).toContainEqual({ name: "deploy", if: "tag IS present" });
    const deploy = travis.jobs.include.find((j) => j.stage === "deploy");
    expect(deploy?.deploy).toMatchObject({ provider: "script", on: { tags: true } });
    const script = readFileSync(join(ROOT, deploy?.deploy.script.replace(/^bash /, "") ?? ""), "utf8");
    expect(script).toContain("--password-stdin");
    expect(script).toContain("set +x");
    expect(script).not.toMatch(/echo[^\n]*REGISTRY_PASSWORD/);
  });
});
