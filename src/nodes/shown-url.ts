/**
 * The URL as shown in output and logs: credentials in it are hidden, the password and a
 * user name standing alone (a token, as in https://TOKEN@github.com/x.git).
 */
export function shownUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    else if (u.username) u.username = '***';
    return u.toString();
  } catch {
    return url;
  }
}
