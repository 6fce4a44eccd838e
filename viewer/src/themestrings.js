// The thematic map's interface text (legend, classes shown alone), zh-CN and English (added to
// i18n.js's tables).

import { addStrings } from "./i18n.js";

addStrings({
  "zh-CN": {
    "legend.titleUnit": "{name}（{unit}）",
    "legend.showOnly": "只显示此类：{label}",
    "legend.showingOnly": "仅显示此类，再次点击显示全部",
    "legend.hint": "点击类别只显示该类",
    "legend.showAll": "显示全部类别",
  },
  en: {
    "legend.titleUnit": "{name} ({unit})",
    "legend.showOnly": "Show only this class: {label}",
    "legend.showingOnly": "Only this class is shown; click again to show all",
    "legend.hint": "Click a class to show only it",
    "legend.showAll": "Show all classes",
  },
});
