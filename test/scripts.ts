// The server's side of the spec's happy path (platform.md §2.6), stanza by stanza, for the tests.

import { base64, digest, DOMAIN, hexXor, MAC, parseDirectives, unbase64, type Step } from "./harness.js";

export const JID = `${MAC}@${DOMAIN}`;
const HEADER = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' id='2173750751' from='almacska' version='1.0' xml:lang='en'>";
const PRE_AUTH = "<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>DIGEST-MD5</mechanism></mechanisms><register xmlns='http://jabber.org/features/iq-register'/></stream:features>";
const POST_AUTH = "<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><required/></bind><unbind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/><session xmlns='urn:ietf:params:xml:ns:xmpp-session'/></stream:features>";
const STREAM_HEADER = /^<\?xml version='1\.0' encoding='UTF-8'\?>\n<stream:stream to='almacska' xmlns='jabber:client' xmlns:stream='http:\/\/etherx\.jabber\.org\/streams' version='1\.0'>\n$/;
const NONCE = "1804289383";
export const INIT_PACKET = "fwQAAAp////+BAAFAAgACwAAAQD/";
export const SLEEP_PACKET = "fwsAAAEB/w==";

/** The server's side of the happy path; `password` is filled in when the rabbit registers. */
export function happyPathSteps(state: { password?: string; cnonce?: string }): Step[] {
  return [
    { label: "stream header", expect: STREAM_HEADER, reply: HEADER + PRE_AUTH },
    // The stock form (rev 18673 as shipped, platform.md §2.3), the firmware profile's default.
    { label: "register get", expect: /^<iq type='get' id='1'><query xmlns='violet:iq:register'\/><\/iq>$/, reply: "<iq from='almacska' id='1' type='result'><query xmlns='violet:iq:register'><instructions>Choose a username and password to register with this server</instructions><username/><password/></query></iq>" },
    {
      label: "register set",
      expect: new RegExp(`^<iq to='almacska' type='set' id='2'><query xmlns="violet:iq:register"><username>${MAC}</username><password>([0-9a-f]{12})</password></query></iq>$`),
      reply: (_stanza, match) => {
        // The platform stores PW = hexXOR(WPW, MAC) (platform.md §2.3).
        state.password = hexXor(match[1]!, MAC);
        return "<iq from='almacska' id='2' type='result'></iq>";
      },
    },
    {
      label: "auth",
      expect: /^<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='DIGEST-MD5'\/>$/,
      reply: `<challenge xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>${base64(`nonce="${NONCE}",qop="auth",charset=utf-8,algorithm=md5-sess`)}</challenge>`,
    },
    {
      label: "response",
      expect: /^<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>([A-Za-z0-9+/=]+)<\/response>$/,
      reply: (_stanza, match) => {
        const directives = parseDirectives(unbase64(match[1]!));
        state.cnonce = directives.cnonce!;
        const inputs = { username: MAC, realm: "", password: state.password!, nonce: NONCE, cnonce: directives.cnonce!, digestUri: "xmpp/almacska" };
        // Checked independently: a wrong digest gets a failure, and the test fails further on.
        if (directives.response !== digest(inputs, "AUTHENTICATE:")) return "<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><not-authorized/></failure>";
        return `<challenge xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>${base64(`rspauth=${digest(inputs, ":")}`)}</challenge>`;
      },
    },
    { label: "rspauth accepted", expect: /^<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'\/>$/, reply: "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>" },
    { label: "restarted stream", expect: STREAM_HEADER, reply: HEADER.replace("2173750751", "1331400675") + POST_AUTH },
    {
      label: "bind boot, malformed from",
      expect: new RegExp(`^<iq from="${JID}/" to="almacska" type='set' id='1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>boot</resource></bind></iq>$`),
      reply: `<iq id='1' type='result'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>${JID}/boot</jid></bind></iq>`,
    },
    {
      label: "session as boot",
      expect: new RegExp(`^<iq from='${JID}/boot' to='almacska' type='set' id='2'><session xmlns='urn:ietf:params:xml:ns:xmpp-session'/></iq>$`),
      reply: `<iq type='result' to='${JID}/boot' from='almacska' id='2'><session xmlns='urn:ietf:params:xml:ns:xmpp-session'/></iq>`,
    },
    {
      label: "sources",
      expect: new RegExp(`^<iq from='${JID}/boot' to='net\\.violet\\.platform@almacska/sources' type='get' id='3'><query xmlns="violet:iq:sources"><packet xmlns="violet:packet" format="1\\.0"/></query></iq>$`),
      reply: `<iq from='net.violet.platform@almacska/sources' to='${JID}/boot' id='3' type='result'><query xmlns='violet:iq:sources'><packet xmlns='violet:packet' format='1.0' ttl='604800'>${INIT_PACKET}</packet></query></iq>`,
    },
    {
      label: "bind idle",
      expect: new RegExp(`^<iq from="${JID}/boot" to="almacska" type='set' id='4'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>idle</resource></bind></iq>$`),
      reply: `<iq id='4' type='result'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>${JID}/idle</jid></bind></iq>`,
    },
    {
      label: "session as idle",
      expect: new RegExp(`^<iq from='${JID}/idle' to='almacska' type='set' id='5'><session xmlns='urn:ietf:params:xml:ns:xmpp-session'/></iq>$`),
      reply: `<iq type='result' to='${JID}/idle' from='almacska' id='5'><session xmlns='urn:ietf:params:xml:ns:xmpp-session'/></iq>`,
    },
    {
      label: "presence",
      expect: new RegExp(`^<presence from='${JID}/idle' id='6'></presence>$`),
      reply: `<presence from='${JID}/idle' to='${JID}/idle' id='6'/>`,
    },
    {
      label: "unbind boot",
      expect: new RegExp(`^<iq from='${JID}/boot' to='almacska' type='set' id='7'><unbind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>boot</resource></unbind></iq>$`),
      reply: "<iq id='7' type='result'/>",
    },
  ];
}

