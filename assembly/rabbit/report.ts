// What the rabbit tells the outside: its UART log (the "[vm]" lines of the captures, in the firmware's wording) and
// reports to the host (vm.report) that a host may show, such as status changes, decoded packet frames or errors.

import { Ascii, asciiData, asciiLength } from "../util/bytes";
import { fieldData, fieldLength } from "../util/field";
import { report } from "../vm/host";
import { uartBegin, uartEnd, uartLine } from "../vm/uart";

export const REPORT_STATUS: i32 = 1; //       payload: the status name
export const REPORT_STATE: i32 = 2; //        payload: the state name
export const REPORT_ONLINE: i32 = 3; //       payload: the full JID
export const REPORT_FRAME: i32 = 4; //        payload: frame type, then its data
export const REPORT_PACKET_ERROR: i32 = 5; // payload: why a packet was rejected
export const REPORT_ERROR: i32 = 6; //        payload: what went wrong (stream errors, bounds)
export const REPORT_REBOOT: i32 = 7; //       payload: why the rabbit reboots
export const REPORT_RESOURCE: i32 = 8; //     payload: the resource asked for

/** One UART line. */
export function log(text: Ascii): void {
  uartLine(text);
}

/** One UART line: a literal then a field. */
export function logField(text: Ascii, field: usize): void {
  const line = uartBegin();
  line.ascii(text);
  line.bytes(fieldData(field), fieldLength(field));
  uartEnd();
}

/** A report whose payload is a literal. */
export function reportText(kind: i32, text: Ascii): void {
  report(kind, asciiData(text), asciiLength(text));
}

export function reportBytes(kind: i32, pointer: usize, length: i32): void {
  report(kind, pointer, length);
}

export function reportField(kind: i32, field: usize): void {
  report(kind, fieldData(field), fieldLength(field));
}
