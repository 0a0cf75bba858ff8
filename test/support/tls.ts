import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { tempDirSync } from "./tmp.js";

export interface TestCertificate {
  key: string;
  cert: string;
  /** PEM file of the certificate, for NODE_EXTRA_CA_CERTS. */
  certPath: string;
}

let cached: TestCertificate | undefined;

/** A self-signed certificate for 127.0.0.1, made once per test process with openssl. */
export function loopbackCertificate(): TestCertificate {
  if (cached) return cached;
  // Kept for the whole test file (the certificate is cached), then removed with its other temp dirs.
  const { path: dir } = tempDirSync("ta-tls-");
  const keyPath = join(dir, "key.pem");
  const certPath = join(dir, "cert.pem");
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-keyout",
      keyPath,
      "-out",
      certPath,
      "-days",
      "2",
      "-subj",
      "/CN=127.0.0.1",
      "-addext",
      "subjectAltName=IP:127.0.0.1",
    ],
    { stdio: "ignore" },
  );
  cached = { key: readFileSync(keyPath, "utf8"), cert: readFileSync(certPath, "utf8"), certPath };
  return cached;
}
