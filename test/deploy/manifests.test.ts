import { execFileSync, spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CronJob } from "kubernetes-models/batch/v1";
import { NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1";
import { ConfigMap, PersistentVolumeClaim, Secret, Service, ServiceAccount } from "kubernetes-models/v1";
import { parseAllDocuments, parse } from "yaml";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/parse.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const KUSTOMIZATIONS = ["deploy/base", "deploy/overlays/dry-run", "deploy/examples/haproxy"];

type Manifest = { apiVersion: string; kind: string; metadata: { name: string }; [key: string]: unknown };

const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  "batch/v1/CronJob": CronJob,
  "networking.k8s.io/v1/NetworkPolicy": NetworkPolicy,
  "v1/ConfigMap": ConfigMap,
  "v1/PersistentVolumeClaim": PersistentVolumeClaim,
  "v1/Secret": Secret,
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
    const files = ["deploy/base", "deploy/examples/haproxy", "deploy/examples"].flatMap((dir) =>
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
    expect(env.SLACK_WEBHOOK_URL?.valueFrom?.secretKeyRef).toEqual({ name: "travis-allowlist-alerts", key: "slack-webhook-url" });
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

  it("the dry-run overlay is suspended and only runs sync --dry-run", () => {
    const cron = find(manifests("deploy/overlays/dry-run"), "CronJob") as unknown as CronJobShape & { metadata: { name: string } };
    expect(cron.metadata.name).toBe("travis-allowlist-dry-run");
    expect(cron.spec.suspend).toBe(true);
    expect(cron.spec.jobTemplate.spec.template.spec.containers[0]?.args).toEqual(["sync", "--dry-run"]);
  });

  it("the HAProxy example is a headless Service on the runtime port", () => {
    expect(find(manifests("deploy/examples/haproxy"), "Service")).toMatchObject({ spec: { clusterIP: "None", ports: [{ name: "runtime", port: 9999 }] } });
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

  it("is multi-stage: builds with dev dependencies, ships production ones only", () => {
    expect(instructions.filter((l) => l.startsWith("FROM "))).toHaveLength(2);
    expect(instructions).toContain("RUN npm ci --no-audit --no-fund");
    expect(instructions).toContain("RUN npm run build && npm prune --omit=dev");
    expect(instructions.at(-1)).toBe('CMD ["sync"]');
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
      for (const match of readFileSync(file, "utf8").matchAll(/(?:from|import)\s*\(?\s*"([^".][^"]*)"/g)) {
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
    jobs: { include: Array<{ stage: string; deploy: { provider: string; script: string; on: { tags: boolean } } }> };
  };

  it("tests on Node 20, 22 and 24 with HAProxy installed", () => {
    expect(travis.node_js).toEqual(["20", "22", "24"]);
    expect(travis.addons.apt.packages).toContain("haproxy");
    expect(travis.install).toEqual(["npm ci"]);
    expect(travis.script).toEqual(["npm run lint", "npm test"]);
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
