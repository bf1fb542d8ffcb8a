// The rabbit's 4 KB flash sector (spec §2.2): where each setting lives. The host's flash service (host/vm/flash.ts)
// reads and writes the same places; test/abi.test.ts checks that both sides agree.

export const FLASH_SIZE: i32 = 4096;
/** Bytes 0..39: the platform URL (locate.jsp's base), "host[:port]/path", ending at the first 0x00 or 0xFF. */
export const FLASH_SERVER_URL_OFFSET: i32 = 0;
export const FLASH_SERVER_URL_SIZE: i32 = 40;
/** 'd' at 208 marks a password in 209..220. */
export const FLASH_PASSWORD_FLAG_OFFSET: i32 = 208;
export const FLASH_PASSWORD_FLAG: i32 = 0x64;
export const FLASH_PASSWORD_OFFSET: i32 = 209;
/** The rabbit's password: 12 lowercase hex digits. */
export const PASSWORD_LENGTH: i32 = 12;
