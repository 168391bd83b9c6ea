// Certificates for the TLS tests, made with openssl in a fresh folder: a
// private CA, a server certificate it signed for 127.0.0.1 and localhost,
// an expired one, and a second CA that signed nothing (a wrong CA).
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface TestCertificates {
  dir: string;
  ca: string;
  wrongCa: string;
  cert: string;
  key: string;
  /** signed by `ca` for the server's key, valid only in January 2020 */
  expired: string;
  /** a CA's certificate with the server's key: a pair that does not match */
  otherKey: string;
  /** signed by `ca` for the server's key, but for other names (10.9.8.7, elsewhere.example) */
  elsewhere: string;
}

function openssl(dir: string, ...args: string[]): void {
  execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
}

const EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];

function makeCa(dir: string, name: string): void {
  openssl(dir, "req", "-x509", ...EC_KEY, "-keyout", `${name}.key`, "-out", `${name}.pem`, "-days", "2", "-subj", `/CN=mltrace test ${name}`,
    "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign");
}

export function makeCertificates(): TestCertificates {
  const dir = mkdtempSync(join(tmpdir(), "mltrace-tls-"));
  makeCa(dir, "ca");
  makeCa(dir, "wrong-ca");
  openssl(dir, "req", ...EC_KEY, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost");
  writeFileSync(join(dir, "server.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n");
  openssl(dir, "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "server.ext");
  writeFileSync(join(dir, "elsewhere.ext"), "subjectAltName=IP:10.9.8.7,DNS:elsewhere.example\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n");
  openssl(dir, "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "elsewhere.pem", "-days", "2", "-extfile", "elsewhere.ext");
  // `openssl ca` is the one that takes explicit dates (x509 -days cannot go back in time).
  writeFileSync(join(dir, "index.txt"), "");
  writeFileSync(join(dir, "serial"), "01\n");
  writeFileSync(join(dir, "ca.cnf"), "[ca]\ndefault_ca=d\n[d]\ndatabase=index.txt\nnew_certs_dir=.\nserial=serial\ndefault_md=sha256\npolicy=p\n[p]\ncommonName=supplied\n");
  openssl(dir, "ca", "-batch", "-config", "ca.cnf", "-startdate", "20200101000000Z", "-enddate", "20200102000000Z", "-in", "server.csr", "-out", "expired.pem", "-keyfile", "ca.key", "-cert", "ca.pem", "-notext");
  const at = (f: string) => join(dir, f);
  return { dir, ca: at("ca.pem"), wrongCa: at("wrong-ca.pem"), cert: at("server.pem"), key: at("server.key"), expired: at("expired.pem"), otherKey: at("ca.key"), elsewhere: at("elsewhere.pem") };
}
