/** The page's own title: the sign-in page, and the workspace with nothing new. */
export const APP_NAME = 'Signal Kit'
/** Past this, the title says "99+" (a tab's title has little room). */
export const TITLE_COUNT_MAX = 99

/** The tab's title with the number of new things (every panel's badge) in front: "(3) Signal Kit". */
export function pageTitle(count: number): string {
  if (!(count > 0)) return APP_NAME
  return `(${count > TITLE_COUNT_MAX ? `${TITLE_COUNT_MAX}+` : Math.floor(count)}) ${APP_NAME}`
}
