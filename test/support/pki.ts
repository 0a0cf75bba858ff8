import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";

/** The files of a small private PKI made with openssl, as cert-manager would mount them. */
export interface RuntimePki {
  ca: string;
  /** Server certificate and key in one PEM, for HAProxy's `crt`. */
  serverPem: string;
  clientCert: string;
  clientKey: string;
  /** A second CA, trusted by nobody here, and a client certificate it signed. */
  otherCa: string;
  otherClientCert: string;
  otherClientKey: string;
}

const openssl = (args: string[]) => execFileSync("openssl", args, { stdio: ["ignore", "ignore", "pipe"] });
const KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

function authority(dir: string, name: string): { cert: string; key: string } {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  openssl(["req", "-x509", ...KEY, "-keyout", key, "-out", cert, "-days", "2", "-subj", `/CN=${name}`]);
  return { cert, key };
}

function issued(dir: string, name: string, ca: { cert: string; key: string }, extensions: string): { cert: string; key: string } {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const ext = join(dir, `${name}.ext`);
  writeFileSync(ext, extensions);
  openssl(["req", ...KEY, "-keyout", key, "-out", csr, "-subj", `/CN=${name}`]);
  openssl(["x509", "-req", "-in", csr, "-CA", ca.cert, "-CAkey", ca.key, "-CAcreateserial", "-out", cert, "-days", "2", "-extfile", ext]);
  return { cert, key };
}

/** A CA, a server certificate for `haproxy-runtime` and 127.0.0.1, a client certificate, and an unrelated CA with its own client. */
export function makeRuntimePki(dir: string): RuntimePki {
  const ca = authority(dir, "runtime-ca");
  const server = issued(dir, "haproxy-runtime", ca, "subjectAltName=DNS:haproxy-runtime,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n");
  const client = issued(dir, "travis-allowlist", ca, "extendedKeyUsage=clientAuth\n");
  const other = authority(dir, "other-ca");
  const otherClient = issued(dir, "intruder", other, "extendedKeyUsage=clientAuth\n");
  const serverPem = join(dir, "haproxy-runtime.pem");
  execFileSync("sh", ["-c", `cat "${server.cert}" "${server.key}" > "${serverPem}"`]);
  return {
    ca: ca.cert,
    serverPem,
    clientCert: client.cert,
    clientKey: client.key,
    otherCa: other.cert,
    otherClientCert: otherClient.cert,
    otherClientKey: otherClient.key,
  };
}
